//! The scripting sandbox's `cjson` (lua-cjson 2.1 as Redis 7.0.15 links it) compared byte for
//! byte with redis-server: the configuration functions (arguments, ranges, types, answers), their
//! settings living in the VM from one script to the next until SCRIPT FLUSH, the invalid numbers
//! that strtod reads and encode writes, `%.<p>g` at every precision, sparse arrays, nesting, and
//! the decoder's errors.

mod common;
#[path = "common/differential.rs"]
mod differential;
#[path = "common/fleet.rs"]
mod fleet;

use differential::Differential;

fn eval(diff: &mut Differential, script: &str) -> Vec<u8> {
    diff.check_str(&["EVAL", script, "0"])
}

fn each(diff: &mut Differential, scripts: &[&str]) {
    for script in scripts {
        eval(diff, script);
    }
}

#[test]
fn configuration_functions_take_arguments_as_lua_cjson() {
    let mut diff = Differential::start();
    each(
        &mut diff,
        &[
            // Defaults, as each function reports them.
            "return {cjson.encode_sparse_array()}",
            "return {cjson.encode_max_depth(), cjson.decode_max_depth(), cjson.encode_number_precision()}",
            "return {cjson.encode_keep_buffer(), cjson.encode_invalid_numbers(), cjson.decode_invalid_numbers()}",
            "return {type(cjson.encode_keep_buffer()), type(cjson.encode_invalid_numbers())}",
            // Too many arguments.
            "return cjson.encode_sparse_array(true, 2, 10, 1)",
            "return cjson.encode_max_depth(1, 2)",
            "return cjson.decode_max_depth(1, 2)",
            "return cjson.encode_number_precision(1, 2)",
            "return cjson.encode_keep_buffer(true, 2)",
            "return cjson.encode_invalid_numbers(true, 2)",
            "return cjson.decode_invalid_numbers(true, nil)",
            // Integer ranges, and C's int of a Lua number.
            "return cjson.encode_max_depth(0)",
            "return cjson.decode_max_depth(-1)",
            "return cjson.encode_max_depth(2^31)",
            "return cjson.decode_max_depth(2^31 - 1)",
            "return cjson.decode_max_depth(1000)",
            "return cjson.encode_number_precision(0)",
            "return cjson.encode_number_precision(15)",
            "return cjson.encode_number_precision(2^32 + 5)",
            "return cjson.encode_number_precision(14.9)",
            "return cjson.encode_number_precision('7')",
            "return cjson.encode_number_precision(' 0x0e ')",
            "return cjson.encode_number_precision('x')",
            "return cjson.encode_number_precision({})",
            "return cjson.encode_number_precision(true)",
            "return cjson.encode_number_precision(nil)",
            "return cjson.encode_number_precision(14)",
            // The range error names argument #1 whichever argument it was.
            "return cjson.encode_sparse_array(nil, -1)",
            "return cjson.encode_sparse_array(nil, nil, -1)",
            "return cjson.encode_sparse_array(nil, 'x')",
            "return {cjson.encode_sparse_array(nil, 0, 0)}",
            "return {cjson.encode_sparse_array(nil, 2147483647, 2147483647)}",
            "return {cjson.encode_sparse_array('off', 2, 10)}",
            // Booleans, or the option names (numbers as their text, case and NUL as C sees them).
            "return cjson.encode_keep_buffer(false)",
            "return cjson.encode_keep_buffer('on')",
            "return cjson.encode_keep_buffer('off')",
            "return cjson.encode_keep_buffer('ON')",
            "return cjson.encode_keep_buffer('of\\0f')",
            "return cjson.encode_keep_buffer(1)",
            "return cjson.encode_keep_buffer({})",
            "return cjson.encode_keep_buffer('null')",
            "return cjson.encode_keep_buffer(true)",
            "return cjson.encode_invalid_numbers('null')",
            "return cjson.encode_invalid_numbers()",
            "return cjson.encode_invalid_numbers('on')",
            "return cjson.encode_invalid_numbers('nan')",
            "return cjson.encode_invalid_numbers(false)",
            "return cjson.decode_invalid_numbers('null')",
            "return cjson.decode_invalid_numbers('off')",
            "return cjson.decode_invalid_numbers(true)",
            "return cjson.encode_sparse_array(1)",
            "return {cjson.encode_sparse_array(false)}",
            // A bad second argument leaves the first one set.
            "return cjson.encode_sparse_array(true, 'x')",
            "return {cjson.encode_sparse_array()}",
            "return {cjson.encode_sparse_array(false)}",
            // How the caller named the function: a method call does not count self, pcall has no
            // name, a local has its own.
            "return cjson:encode_keep_buffer()",
            "return cjson:encode_keep_buffer(true)",
            "return cjson:encode_max_depth(5)",
            "local ok, e = pcall(cjson.encode_max_depth, 0) return e",
            "local ok, e = pcall(cjson.encode_keep_buffer, {}) return e",
            "local f = cjson.decode_max_depth return f(1, 2)",
            // encode and decode take exactly one argument; decode reads numbers as text.
            "return cjson.encode()",
            "return cjson.encode(1, 2)",
            "return cjson.decode()",
            "return cjson.decode('1', 2)",
            "return cjson.decode({})",
            "return cjson.decode(123)",
            // The library table is read-only; cjson.new() answers a table of its own settings.
            "cjson.encode_max_depth = nil",
            "cjson.foo = 1",
            "return {cjson._NAME, cjson._VERSION, type(cjson.new)}",
            "local t = {} for k, v in pairs(cjson) do t[#t + 1] = k .. ':' .. type(v) end table.sort(t) return t",
            "local c = cjson.new() c.encode_number_precision(2) c.foo = 1 return {c.encode(3.14159), cjson.encode(3.14159), c.foo, c.encode_number_precision()}",
        ],
    );
}

#[test]
fn settings_last_from_script_to_script_until_script_flush() {
    let mut diff = Differential::start();
    each(
        &mut diff,
        &[
            "return {cjson.encode_number_precision(3), cjson.encode_invalid_numbers('null'), cjson.decode_max_depth(2)}",
            "return cjson.encode({3.14159, 1/0})",
            "return cjson.decode('[[1]]')",
            "return cjson.decode('[[[1]]]')",
            "return {cjson.encode_sparse_array(true, 3, 1)}",
            "return cjson.encode({[1] = 1, [5] = 2})",
        ],
    );
    diff.check_str(&["SCRIPT", "FLUSH"]);
    each(
        &mut diff,
        &[
            "return cjson.encode({3.14159})",
            "return cjson.encode({1/0})",
            "return cjson.decode('[[[1]]]')",
            "return {cjson.encode_sparse_array()}",
            "return cjson.encode_number_precision(5)",
        ],
    );
    // Functions have a VM (and a cjson) of their own, which FUNCTION FLUSH keeps.
    let library = "#!lua name=cj\nredis.register_function('prec', function(keys, args) return cjson.encode_number_precision(tonumber(args[1])) end)";
    diff.check_str(&["FUNCTION", "LOAD", library]);
    diff.check_str(&["FCALL", "prec", "0"]);
    diff.check_str(&["FCALL", "prec", "0", "9"]);
    diff.check_str(&["FUNCTION", "FLUSH"]);
    diff.check_str(&["FUNCTION", "LOAD", library]);
    diff.check_str(&["FCALL", "prec", "0"]);
    diff.check_str(&["FUNCTION", "FLUSH", "ASYNC"]);
    diff.check_str(&["FUNCTION", "LOAD", library]);
    diff.check_str(&["FCALL", "prec", "0"]);
    eval(&mut diff, "return cjson.encode_number_precision()");
}

#[test]
fn invalid_numbers_decode_through_strtod_and_encode_by_setting() {
    let mut diff = Differential::start();
    let documents = [
        "[NaN]",
        "[nan]",
        "[-nan]",
        "[nan(123)]",
        "[nan(12]",
        "[inf]",
        "[-inf]",
        "[Infinity]",
        "[-Infinity]",
        "[infinit]",
        "[INF]",
        "[0x10]",
        "[-0x10]",
        "[0X1P4]",
        "[0x1.8p1]",
        "[0x.8]",
        "[0xp1]",
        "[0x1p-1074]",
        "[0x1p-1075]",
        "[0x1p1024]",
        "[0x1fffffffffffff8p-3]",
        "[+5]",
        "[+]",
        "[007]",
        "[-01]",
        "[-.5]",
        "[.5]",
        "[1e]",
        "[1e+]",
        "[1.e2]",
        "[1e400]",
        "[-]",
        "[-x]",
        "[ina]",
        "[nul]",
        "[i]",
        "[0.1, -0, 1e5, 123456789012345678]",
    ];
    for setting in ["true", "false", "'on'"] {
        eval(
            &mut diff,
            &format!("return cjson.decode_invalid_numbers({setting})"),
        );
        for doc in documents {
            // The reply (Redis's conversion of NaN and infinities) and Lua's own text.
            eval(&mut diff, &format!("return cjson.decode('{doc}')"));
            eval(
                &mut diff,
                &format!("local v = cjson.decode('{doc}') return tostring(v[1]) .. ' ' .. #v"),
            );
        }
    }
    for setting in ["'off'", "'on'", "'null'", "true", "false"] {
        eval(
            &mut diff,
            &format!("return cjson.encode_invalid_numbers({setting})"),
        );
        for value in [
            "{1/0, -1/0, 0/0, -(0/0), 1.5}",
            "{a = 1/0}",
            "{[1/0] = 1}",
            "{[0/0 ~= 0/0 and 'x' or 'y'] = 0/0}",
            "-1/0",
        ] {
            eval(&mut diff, &format!("return cjson.encode({value})"));
        }
    }
}

#[test]
fn numbers_encode_at_every_precision_as_redis() {
    let mut diff = Differential::start();
    let numbers = "{3.14159265358979, 1234567, 0.000123456, 100, 1e300, -2.5, 0.5, 9.5, 2.5, 123456789012345, 1e-5, 5e-324, 2^53, -0.0001, 99.99, 0 * -1, 0, {a = 1e-300, b = 5e-324}}";
    for precision in 1..=14 {
        eval(
            &mut diff,
            &format!("cjson.encode_number_precision({precision}) return cjson.encode({numbers})"),
        );
        eval(&mut diff, "return cjson.encode({[0.1] = 1})");
    }
}

#[test]
fn sparse_arrays_follow_the_settings_as_redis() {
    let mut diff = Differential::start();
    let tables = [
        "{[1] = 1, [20] = 2}",
        "{[1] = 1, [3] = 2}",
        "{[1] = 1, [2] = 2, [20] = 3}",
        "{[11] = 1}",
        "{[2^31] = 1}",
        "{[2^40] = 1}",
        "{[1/0] = 1}",
        "{[1.5] = 1}",
        "{[-1] = 1}",
        "{[0] = 1}",
    ];
    for setting in [
        "",
        "true",
        "false, 0",
        "nil, 1",
        "nil, 1, 0",
        "nil, 2147483647, 0",
        "nil, 2, 0",
        "true, 2, 0",
    ] {
        eval(
            &mut diff,
            &format!("return {{cjson.encode_sparse_array({setting})}}"),
        );
        for table in tables {
            eval(&mut diff, &format!("return cjson.encode({table})"));
        }
    }
}

#[test]
fn nesting_limits_answer_as_redis() {
    let mut diff = Differential::start();
    let arrays = |depth: usize| format!("string.rep('[', {depth}) .. string.rep(']', {depth})");
    let nested = |depth: usize, key: &str| {
        format!("local t = {{}} local c = t for i = 1, {depth} - 1 do c{key} = {{}} c = c{key} end")
    };
    for depth in [1, 2, 3, 999, 1000] {
        for max in [depth, depth.max(2) - 1] {
            eval(
                &mut diff,
                &format!("cjson.decode_max_depth({max}) cjson.encode_max_depth({max}) return 1"),
            );
            eval(
                &mut diff,
                &format!("return #cjson.decode({})", arrays(depth)),
            );
            eval(
                &mut diff,
                &format!(
                    "return #cjson.decode(string.rep('{{\"a\":', {depth}) .. '1' .. string.rep('}}', {depth}))"
                ),
            );
            eval(
                &mut diff,
                &format!("{} return #cjson.encode(t)", nested(depth, "[1]")),
            );
            eval(
                &mut diff,
                &format!("{} return #cjson.encode(t)", nested(depth, ".a")),
            );
        }
    }
}

/// cachet stops nesting at `NESTING_CAP` (1000) whatever depth a script configures (README,
/// "Scripting"): deeper documents fail with lua-cjson's errors instead of exhausting the thread
/// stack or mlua's reference slots, and the server answers on.
#[test]
fn nesting_past_the_cap_fails_without_harm() {
    let server = common::TestServer::start();
    let mut client = differential::Conn::connect(server.port());
    let script = "cjson.decode_max_depth(100000) cjson.encode_max_depth(100000) \
        local ok1, e1 = pcall(cjson.decode, string.rep('[', 5000)) \
        local t = {} local c = t for i = 1, 5000 do c.a = {} c = c.a end \
        local ok2, e2 = pcall(cjson.encode, t) \
        return {e1, e2, #cjson.decode(string.rep('[', 1000) .. string.rep(']', 1000))}";
    let reply = client.call(&[b"EVAL", script.as_bytes(), b"0"]);
    let text = String::from_utf8_lossy(&reply);
    assert!(
        text.contains("Found too many nested data structures (1001) at character 1001"),
        "{text}"
    );
    assert!(
        text.contains("Cannot serialise, excessive nesting (1001)"),
        "{text}"
    );
    assert!(text.ends_with(":1\r\n"), "{text}");
    assert_eq!(client.call(&[b"PING"]), b"+PONG\r\n");
}

#[test]
fn decode_errors_name_what_lua_cjson_found() {
    let mut diff = Differential::start();
    for doc in [
        "[1,]",
        "{\"a\":1,}",
        "{\"a\" 1}",
        "{1:1}",
        "{-:1}",
        "{\"a\":}",
        "[1 2]",
        "\"abc",
        "\"a\\\\qb\"",
        "\"a\\\\",
        "\"a\\\\ud800x\"",
        "\"\\\\udc00\"",
        "\"\\\\ud800\\\\u0041\"",
        "\"\\\\u12\"",
        "\"\\\\ud83d\\\\ude00\"",
        "\"\\\\u00e9\\\\u20ac\\\\u0000\"",
        "[1] x",
        "[1]\\0 x",
        "\\0[1]",
        "",
        "   ",
        "tru",
        "nulll",
        "[true,false,null]",
        "@",
        "{\"a\":[1,{\"b\":\"c\"}]}",
    ] {
        eval(
            &mut diff,
            &format!("local ok, v = pcall(cjson.decode, '{doc}') if ok then return cjson.encode(v) end return v"),
        );
        eval(&mut diff, &format!("return cjson.decode('{doc}')"));
    }
}

/// Redis 7.0.15's "EVAL - JSON smoke test" (tests/unit/scripting.tcl), whose asserts raise in
/// either server, then the settings it left (`encode_keep_buffer` off) in the next script.
#[test]
fn redis_json_smoke_test_passes() {
    let mut diff = Differential::start();
    let reply = eval(&mut diff, SMOKE);
    assert_eq!(
        reply,
        b"$6\r\npassed\r\n",
        "{}",
        String::from_utf8_lossy(&reply)
    );
    eval(&mut diff, "return {cjson.encode_keep_buffer(), cjson.encode_max_depth(), cjson.encode_invalid_numbers()}");
}

const SMOKE: &str = r#"
local some_map = {
    s1="Some string",
    n1=100,
    a1={"Some","String","Array"},
    nil1=nil,
    b1=true,
    b2=false}
local encoded = cjson.encode(some_map)
local decoded = cjson.decode(encoded)
assert(table.concat(some_map) == table.concat(decoded))

cjson.encode_keep_buffer(false)
encoded = cjson.encode(some_map)
decoded = cjson.decode(encoded)
assert(table.concat(some_map) == table.concat(decoded))

-- Table with numeric keys
local table1 = {one="one", [1]="one"}
encoded = cjson.encode(table1)
decoded = cjson.decode(encoded)
assert(decoded["one"] == table1["one"])
assert(decoded["1"] == table1[1])

-- Array
local array1 = {[1]="one", [2]="two"}
encoded = cjson.encode(array1)
decoded = cjson.decode(encoded)
assert(table.concat(array1) == table.concat(decoded))

-- Invalid keys
local invalid_map = {}
invalid_map[false] = "false"
local ok, encoded = pcall(cjson.encode, invalid_map)
assert(ok == false)

-- Max depth
cjson.encode_max_depth(1)
ok, encoded = pcall(cjson.encode, some_map)
assert(ok == false)

cjson.decode_max_depth(1)
ok, decoded = pcall(cjson.decode, '{"obj": {"array": [1,2,3,4]}}')
assert(ok == false)

-- Invalid numbers
ok, encoded = pcall(cjson.encode, {num1=0/0})
assert(ok == false)
cjson.encode_invalid_numbers(true)
ok, encoded = pcall(cjson.encode, {num1=0/0})
assert(ok == true)

-- Restore defaults
cjson.decode_max_depth(1000)
cjson.encode_max_depth(1000)
cjson.encode_invalid_numbers(false)
return "passed"
"#;
