#!/usr/bin/env python3
# Regenerates conf/cachet.conf from the directive tables (src/state/config/table.rs and data.rs, then the modules') (tests/conf.rs checks
# that the sample lists every directive with its default).
import os, re, sys
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
src=''.join(open(os.path.join(root, f)).read() for f in ('src/state/config/table.rs', 'src/state/config/data.rs', 'src/state/coherence/config.rs', 'src/state/cluster/config.rs', 'src/state/tls/config.rs'))
items=re.findall(r'Directive \{\s*name: "([^"]+)",\s*default: "([^"]*)",\s*mutable: (true|false),\s*protected: (true|false),\s*help: "((?:[^"\\]|\\.)*)"', src, re.S)
out=["# cachet configuration, redis.conf syntax: `directive value`. Every directive cachet supports is",
"# listed here with its default; uncomment and change what you need. Any directive can also be given",
"# on the command line as `--directive value`, and read or changed at run time with CONFIG GET/SET",
"# (those marked [restart] are fixed once the server runs; those marked [protected] only where",
"# enable-protected-configs allows it).",""]
for name,default,mutable,protected,help in items:
    help=help.replace('\\"','"')
    d = f'"{default}"' if (default=="" or " " in default) else default
    out.append(f"# {help}" + ("" if mutable=="true" else " [restart]") + (" [protected]" if protected=="true" else ""))
    active = name in ("port", "bind", "databases", "maxclients", "hz", "loglevel", "timeout", "proto-max-bulk-len", "client-query-buffer-limit")
    out.append(("" if active else "# ") + f"{name} {d}")
    out.append("")
accepted=open(os.path.join(root, 'src/state/config/accepted.rs')).read()
rows=re.findall(r'accepted!\("([^"]+)", "[^"]+", "([^"]*)", (true|false), .*?, "((?:[^"\\]|\\.)*)"\),', accepted)
out.append("# ---- Redis directives accepted for compatibility: checked as Redis checks them and kept, with no")
out.append("# ---- effect in cachet (src/state/config/accepted.rs); some accept only their default.")
out.append("")
for name,default,mutable,help in rows:
    d = f'"{default}"' if (default=="" or " " in default) else default
    out.append(f"# {help}" + ("" if mutable=="true" else " [restart]"))
    out.append(f"# {name} {d}")
    out.append("")
open(os.path.join(root, 'conf/cachet.conf'), 'w').write("\n".join(out))
