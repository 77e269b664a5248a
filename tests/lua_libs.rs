//! The `cmsgpack` and `struct` libraries of the scripting sandbox, compared byte for byte with
//! redis-server 7.0: packed bytes of random values, round trips, the unpack variants and their
//! offsets, every struct format option with alignment and endianness, the errors (positions,
//! function names as the caller wrote them, lauxlib's argument messages), Lua's stack limits,
//! and the sandbox's globals.

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use differential::Differential;

fn eval(diff: &mut Differential, script: &str) -> Vec<u8> {
    diff.check_str(&["EVAL", script, "0"])
}

/// Writes any value with its type, numbers to 17 digits and keys sorted, so a decoded value can
/// be compared as one string.
const DUMP: &str = r#"
local function dump(v)
  local t = type(v)
  if t == 'table' then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    table.sort(keys, function(a, b) return type(a) .. tostring(a) < type(b) .. tostring(b) end)
    local parts = {}
    for _, k in ipairs(keys) do parts[#parts + 1] = dump(k) .. '=' .. dump(v[k]) end
    return '{' .. table.concat(parts, ',') .. '}'
  end
  if t == 'number' then return string.format('%.17g', v) end
  return t .. ':' .. tostring(v)
end
"#;

/// A random Lua expression for a value: numbers at every integer format's edges, floats,
/// strings at the str formats' edges, booleans, nil, and tables that are arrays, maps or neither.
fn value(rng: &mut fastrand::Rng, depth: u32) -> String {
    let edges = [
        "0",
        "1",
        "-1",
        "127",
        "128",
        "-32",
        "-33",
        "255",
        "256",
        "-128",
        "-129",
        "65535",
        "65536",
        "-32768",
        "-32769",
        "4294967295",
        "4294967296",
        "-2147483648",
        "-2147483649",
        "2^53",
        "-2^53",
        "2^63",
        "-2^63",
        "2^64",
        "1e19",
        "-1e19",
        "0.5",
        "-0.5",
        "1/0",
        "-1/0",
        "0/0",
        "-0",
        "1e-300",
        "-1e-20",
        "5e-324",
        "3.4028234663852886e38",
        "1e39",
        "0.1",
    ];
    // mlua reads a number within 2^-52 of zero as 0 when it is an argument itself (README): those
    // go only inside tables, where cachet reads them exactly.
    let tiny = |x: &str| ["1e-300", "-1e-20", "5e-324"].contains(&x);
    match rng.u32(0..if depth > 2 { 6 } else { 9 }) {
        0 => loop {
            let edge = edges[rng.usize(..edges.len())];
            if depth > 0 || !tiny(edge) {
                break edge.to_string();
            }
        },
        1 => format!("{}", rng.i64(..) >> rng.u32(0..63)),
        2 => random_double(rng, depth > 0),
        3 => {
            let len = [0, 1, 31, 32, 255, 256, 65535, 65536][rng.usize(..8)];
            format!("string.rep(string.char({}), {len})", rng.u8(..))
        }
        4 => {
            let bytes: Vec<String> = (0..rng.usize(0..12))
                .map(|_| rng.u8(..).to_string())
                .collect();
            if bytes.is_empty() {
                "''".into()
            } else {
                format!("string.char({})", bytes.join(","))
            }
        }
        5 => ["true", "false", "nil"][rng.usize(..3)].to_string(),
        6 => {
            let items: Vec<String> = (0..rng.usize(0..20))
                .map(|_| value(rng, depth + 1))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        7 => {
            let items: Vec<String> = (0..rng.usize(0..18))
                .map(|i| {
                    let key = match rng.u32(0..5) {
                        0 => format!("k{i}"),
                        1 => format!("[{}]", rng.i32(-3..30)),
                        2 => format!("[{}.5]", rng.i32(-3..3)),
                        3 => "[true]".into(),
                        // Redis hashes every byte of a string, stock Lua 5.1 (cachet's) samples
                        // those of 32 bytes or more: such keys iterate in another order (README).
                        _ => format!("['{}']", "x".repeat(rng.usize(0..32))),
                    };
                    format!("{key}={}", value(rng, depth + 1))
                })
                .collect();
            format!("{{{}}}", items.join(","))
        }
        _ => {
            // An array with a hole, or with one extra key.
            let n = rng.usize(1..8);
            let items: Vec<String> = (1..=n)
                .map(|i| format!("[{i}]={}", value(rng, depth + 1)))
                .collect();
            let extra = if rng.bool() {
                format!("[{}]=1", n + 2)
            } else {
                "x=1".into()
            };
            format!("{{{},{extra}}}", items.join(","))
        }
    }
}

#[test]
fn cmsgpack_packs_random_values_as_redis() {
    let mut diff = Differential::start();
    let seed = fastrand::u64(..);
    println!("seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..400 {
        let v = value(&mut rng, 0);
        let w = value(&mut rng, 0);
        eval(&mut diff, &format!("return cmsgpack.pack({v})"));
        eval(&mut diff, &format!("return cmsgpack.pack({v}, {w})"));
        // Round trip: what unpack builds, packed again and written out.
        eval(
            &mut diff,
            &format!("{DUMP} local p = cmsgpack.pack({v}, {w}) local a, b = cmsgpack.unpack(p) return {{cmsgpack.pack(a, b) == p and 1 or 0, dump(a), dump(b)}}"),
        );
    }
    assert!(diff.compared >= 1200);
}

#[test]
fn cmsgpack_edges_and_errors_answer_as_redis() {
    let mut diff = Differential::start();
    for script in [
        // nesting: the 17th level packs as nil; a table holding itself ends there too
        "local t = {} local c = t for i = 1, 20 do c[1] = {} c = c[1] end return cmsgpack.pack(t)",
        "local t = {1} t[2] = t return cmsgpack.pack(t)",
        "local t = {} t.self = t return cmsgpack.pack(t)",
        // array or map
        "return cmsgpack.pack({})",
        "return cmsgpack.pack({[1]=1, [2]=2, [4]=4})",
        "return cmsgpack.pack({[0]=1})",
        "return cmsgpack.pack({[1.5]=1})",
        "return cmsgpack.pack({[2^31]=1})",
        "local t = {} for i = 1, 70000 do t[i] = i % 7 end return #cmsgpack.pack(t)",
        "local t = {} for i = 1, 20 do t['k' .. i] = i end return cmsgpack.pack(t)",
        "local t = {} for i = 1, 70000 do t['k' .. i] = 1 end return #cmsgpack.pack(t)",
        // values that are neither: functions, userdata (cjson.null), coroutines
        "return cmsgpack.pack(print == nil, function() end, cjson.null, coroutine.create(function() end))",
        "return cmsgpack.pack(cmsgpack)",
        "return cmsgpack:pack()",
        "return cmsgpack.pack({-0, 1e-20, -1e-310, [1e-20]=1})",
        "return cmsgpack.pack('1', '0x10', ' 7 ')",
        // errors
        "return cmsgpack.pack()",
        "local p = cmsgpack.pack return p()",
        "return {pcall(cmsgpack.pack)}",
        "return cmsgpack.pack(unpack({}, 1, 4001))",
        "return #cmsgpack.pack(unpack({}, 1, 4000))",
        "return cmsgpack.unpack()",
        "return cmsgpack.unpack({})",
        "return cmsgpack.unpack(12)",
        "return cmsgpack.unpack('')",
        "return cmsgpack.unpack(string.char(0x92, 1))",
        "return cmsgpack.unpack(string.char(0xc1))",
        "return cmsgpack.unpack(string.char(0xc4, 1, 65))",
        "return cmsgpack.unpack(string.char(0xd4, 1, 1))",
        "return cmsgpack.unpack(string.char(0xdb, 0, 0, 0, 9, 65))",
        "return cmsgpack.unpack(string.char(0xdd, 255, 255, 255, 255, 1))",
        "return cmsgpack.unpack(string.char(0x81, 0xc0, 1))",
        "return cmsgpack.unpack(string.char(0x81, 0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 1, 1))",
        "return {pcall(cmsgpack.unpack, string.char(0x81, 0xc0, 1))}",
        "local ok, e = pcall(cmsgpack.unpack, string.char(0x92)) return e",
        "return cmsgpack.unpack(string.rep(string.char(0x91), 5000) .. string.char(1))",
        "return cmsgpack.unpack(string.rep(string.char(0x81, 1), 5000) .. string.char(1))",
        "return #{cmsgpack.unpack(string.rep(string.char(1), 7997))}",
        "return #{cmsgpack.unpack_limit(string.rep(string.char(1), 7996), 8000)}",
        "return cmsgpack.unpack(string.rep(string.char(1), 8000))",
        "return {pcall(cmsgpack.unpack, string.rep(string.char(1), 9000))}",
        // the unpack variants and their offsets
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3))}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 2)}",
        "return {cmsgpack.unpack_one(cmsgpack.pack(1, 2, 3), 3)}",
        "return {cmsgpack.unpack_one('', 0)}",
        "return {cmsgpack.unpack_one('abc', -1)}",
        "return {cmsgpack.unpack_one('abc', 5)}",
        "return {cmsgpack.unpack_one('abc', 'x')}",
        "return {cmsgpack.unpack_one('abc', 2^40)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 2, 1)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), 0, 1)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), -1)}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3))}",
        "return {cmsgpack.unpack_limit(cmsgpack.pack(1, 2, 3), '2', '1')}",
        // decoded numbers: every integer format, floats, uint64 past 2^63
        "return {cmsgpack.unpack(string.char(0xcc, 200, 0xcd, 1, 2, 0xce, 1, 2, 3, 4, 0xd0, 200, 0xd1, 200, 1, 0xd2, 200, 1, 2, 3))}",
        "local a, b = cmsgpack.unpack(string.char(0xcf, 255, 255, 255, 255, 255, 255, 255, 255, 0xd3, 128, 0, 0, 0, 0, 0, 0, 1)) return {tostring(a), tostring(b)}",
        "return tostring(cmsgpack.unpack(string.char(0xca, 0x3f, 0xc0, 0, 0)))",
        "return tostring(cmsgpack.unpack(string.char(0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18)))",
        "return cmsgpack.unpack(string.char(0xd9, 3) .. 'abc')",
        "return cmsgpack.unpack(string.char(0xda, 0, 3) .. 'abc')",
        "return {cmsgpack.unpack(string.char(0x82, 1, 2, 3, 4))[3]}",
        "return cmsgpack._NAME .. ' ' .. cmsgpack._VERSION .. ' ' .. cmsgpack._COPYRIGHT .. ' ' .. cmsgpack._DESCRIPTION",
        "cmsgpack.pack = nil",
        "cmsgpack.x = 1",
    ] {
        eval(&mut diff, script);
    }
}

/// A random double from random bits, as Lua source; `tiny_too`: also those within 2^-52 of zero.
fn random_double(rng: &mut fastrand::Rng, tiny_too: bool) -> String {
    let mut x = f64::from_bits(rng.u64(..));
    if !tiny_too && x.abs() < 1e-15 {
        x += 1.0;
    }
    format!("{x:e}")
        .replace("inf", "(1/0)")
        .replace("NaN", "(0/0)")
}

/// Lua source for a random struct format with arguments that fit it.
fn struct_case(rng: &mut fastrand::Rng) -> (String, Vec<String>) {
    let mut fmt = String::new();
    let mut args = Vec::new();
    for _ in 0..rng.usize(1..8) {
        match rng.u32(0..14) {
            0 => fmt.push(['<', '>', ' '][rng.usize(..3)]),
            1 => fmt.push_str(["!", "!1", "!2", "!4", "!8", "!16"][rng.usize(..6)]),
            2 => fmt.push('x'),
            3..=7 => {
                let opt = ["b", "B", "h", "H", "l", "L", "T", "i", "I"][rng.usize(..9)];
                fmt.push_str(opt);
                if opt.eq_ignore_ascii_case("i") && rng.bool() {
                    fmt.push_str(&rng.u32(0..=32).to_string());
                }
                let n = match rng.u32(0..4) {
                    0 => format!("{}", rng.i64(..) >> rng.u32(0..63)),
                    1 => [
                        "0", "-1", "2^63", "2^64", "-2^63", "1/0", "0/0", "255.9", "-0.5",
                    ][rng.usize(..9)]
                    .into(),
                    2 => format!("'{}'", rng.i32(..)),
                    _ => format!("{}", rng.i32(-300..300)),
                };
                args.push(n);
            }
            8 => {
                fmt.push('f');
                args.push(format!("{:e}", rng.f32() as f64 * 1e6 - 5e5));
            }
            9 => {
                fmt.push('d');
                args.push(["0", "1e300", "0.1", "1/0", "-1/0", "-2.5e-15"][rng.usize(..6)].into());
            }
            10 => {
                let n = rng.usize(0..6);
                fmt.push_str(&format!("c{n}"));
                args.push(format!("'{}'", "y".repeat(n + rng.usize(0..3))));
            }
            11 => {
                fmt.push('s');
                args.push(format!("'{}'", "z".repeat(rng.usize(0..5))));
            }
            12 => {
                fmt.push('c');
                args.push(format!("{}", rng.u8(0..10)));
            }
            _ => {
                fmt.push('d');
                args.push(random_double(rng, false));
            }
        }
    }
    (fmt, args)
}

#[test]
fn struct_formats_answer_as_redis() {
    let mut diff = Differential::start();
    let seed = fastrand::u64(..);
    println!("seed {seed}");
    let mut rng = fastrand::Rng::with_seed(seed);
    for _ in 0..500 {
        let (fmt, args) = struct_case(&mut rng);
        let args = args.join(", ");
        eval(&mut diff, &format!("return struct.pack('{fmt}', {args})"));
        eval(&mut diff, &format!("return struct.size('{fmt}')"));
        eval(
            &mut diff,
            &format!("{DUMP} local p = struct.pack('{fmt}', {args}) return dump({{struct.unpack('{fmt}', p)}})"),
        );
    }
    assert!(diff.compared >= 1500);
    for script in [
        "return struct.pack('<i16', -1)",
        "return struct.pack('>i3', 2^40 + 5)",
        "return struct.pack('<i0', 5)",
        "return struct.pack('!4 b d', 1, 2)",
        "return struct.pack('!b d', 1, 2)",
        "return struct.pack('!2 b i3 h', 1, 2, 3)",
        "return struct.pack('c0', 'whole')",
        "return struct.pack('s', 'a\\0b')",
        "return struct.pack('b\\0b', 1, 2)",
        "return struct.pack('<d>d', 0, 2^-40)",
        "return struct.pack('<f', 1.5e-10)",
        "return struct.pack('q', 1)",
        "return struct.pack('A', 1)",
        "return struct.pack('=', 1)",
        "return struct.pack('i33', 1)",
        "return struct.pack('!3i', 1)",
        "return struct.pack('!0i', 1)",
        "return struct.pack('i99999999999', 1)",
        "return struct.pack('c5', 'ab')",
        "return struct.pack('bc5', 1, 'ab')",
        "return struct.pack('i', 'x')",
        "return struct.pack('i', '0x10')",
        "return struct.pack('i', {})",
        "return struct.pack('i')",
        "return struct.pack()",
        "return struct.pack(12)",
        "return struct:pack('i')",
        "local p = struct.pack return p('q')",
        "return {pcall(struct.pack, 'q')}",
        "return struct.pack('c2', 12.5)",
        "return struct.pack('c0', 12.5)",
        "return struct.unpack('i', 'ab')",
        "return struct.unpack('c0', 'ab')",
        "return {struct.unpack('bc0', string.char(3) .. 'abcdef')}",
        "return {struct.unpack('c1c0', '3abcdef')}",
        "return {struct.unpack('bc0', string.char(255) .. 'abcdef')}",
        "return struct.unpack('s', 'ab')",
        "return {struct.unpack('ss', 'ab\\0\\0c')}",
        "return struct.unpack('i', 'abcd', 0)",
        "return struct.unpack('i', 'abcd', -1)",
        "return {struct.unpack('b', 'abcd', 4)}",
        "return {struct.unpack('b', 'abcd', 5)}",
        "return {struct.unpack('', 'abcd', 5)}",
        "return {struct.unpack('<', 'abcd', 6)}",
        "return {struct.unpack('!4 b i', 'abcdefgh')}",
        "return {struct.unpack('<i16', string.rep(string.char(255), 16))}",
        "return {struct.unpack('<I16', string.rep(string.char(255), 16))}",
        "return {struct.unpack('>i9', string.char(1) .. string.rep(string.char(128), 8))}",
        "return {struct.unpack('<i0', 'x')}",
        "return {struct.unpack('>I3', 'abc')}",
        "return {struct.unpack('xxb', 'abc')}",
        "return {struct.unpack('q', 'abc')}",
        "return {struct.unpack('i')}",
        "return {struct.unpack('i', {})}",
        "return #{struct.unpack(string.rep('b', 7996), string.rep('a', 8000))}",
        "return #{struct.unpack(string.rep('b', 7999), string.rep('a', 8000))}",
        "return tostring(struct.unpack('<d', struct.pack('<d', 0.1)))",
        "return tostring(struct.unpack('>f', struct.pack('>f', 0.1)))",
        "return struct.size('s')",
        "return struct.size('c0')",
        "return struct.size('!4bi c3 d')",
        "return struct.size('!bd')",
        "return struct.size('q5A')",
        "return struct.size('<>=')",
        "return struct.size('i40')",
        "return struct.size()",
        "return {type(struct), type(struct.pack), type(cmsgpack)}",
        "struct.pack = nil",
    ] {
        eval(&mut diff, script);
    }
}

#[test]
fn the_sandbox_has_only_redis_globals() {
    let mut diff = Differential::start();
    eval(
        &mut diff,
        // KEYS, ARGV and Redis's error handler are globals in Redis, not in cachet's sandbox (README).
        "local names = {} for k, v in pairs(_G) do if k ~= 'KEYS' and k ~= 'ARGV' and k ~= '__redis__err__handler' then names[#names + 1] = k .. ':' .. type(v) end end table.sort(names) return names",
    );
    for lib in ["cmsgpack", "struct", "bit", "string", "math", "table"] {
        eval(
            &mut diff,
            &format!("local names = {{}} for k, v in pairs({lib}) do names[#names + 1] = k .. ':' .. type(v) end table.sort(names) return names"),
        );
    }
}
