//! Sorted set ranges, removals, pops, set algebra and ZSCAN against the real server: the exact
//! replies are what Redis 7.0 answered to the same requests (RESP2 unless a test says `hello 3`);
//! ZRANK's WITHSCORE is Redis 7.2's extension.

mod common;

use common::{call, TestServer};

#[test]
fn rank_ranges() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("zadd z 1 a 2 b 3 c 4 d 5 e", Some(&b":5\r\n"[..])),
        ("zrange z 0 -1", Some(&b"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"[..])),
        ("zrange z 0 -1 withscores", Some(&b"*10\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n"[..])),
        ("zrange z -2 -1", Some(&b"*2\r\n$1\r\nd\r\n$1\r\ne\r\n"[..])),
        ("zrange z -100 100", Some(&b"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"[..])),
        ("zrange z 3 1", Some(&b"*0\r\n"[..])),
        ("zrange z 5 10", Some(&b"*0\r\n"[..])),
        ("zrange z 0 0", Some(&b"*1\r\n$1\r\na\r\n"[..])),
        ("zrange z -1 -1 withscores", Some(&b"*2\r\n$1\r\ne\r\n$1\r\n5\r\n"[..])),
        ("zrange z 0 -1 rev", Some(&b"*5\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"[..])),
        ("zrange z 0 1 rev withscores", Some(&b"*4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nd\r\n$1\r\n4\r\n"[..])),
        ("zrevrange z 0 1 withscores", Some(&b"*4\r\n$1\r\ne\r\n$1\r\n5\r\n$1\r\nd\r\n$1\r\n4\r\n"[..])),
        ("zrevrange z -1 -1", Some(&b"*1\r\n$1\r\na\r\n"[..])),
        ("zrange z 0 -1 limit 0 1", Some(&b"-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"[..])),
        ("zrange z 0 -1 limit 0 -1", Some(&b"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"[..])),
        ("zrange z a b", Some(&b"-ERR value is not an integer or out of range\r\n"[..])),
        ("zrange z 0 -1 foo", Some(&b"-ERR syntax error\r\n"[..])),
        ("zrange z 0 -1 rev rev", Some(&b"-ERR syntax error\r\n"[..])),
        ("zrevrange z 0 -1 rev", Some(&b"-ERR syntax error\r\n"[..])),
        ("zrevrange z 0 -1 byscore", Some(&b"-ERR syntax error\r\n"[..])),
        ("zrange z 0 -1 byscore byscore", Some(&b"-ERR syntax error\r\n"[..])),
        ("zrange z 0 -1 bylex byscore", Some(&b"-ERR syntax error\r\n"[..])),
        ("zrange z 0 -1 limit 1", Some(&b"-ERR syntax error\r\n"[..])),
        ("zrange z 0 -1 limit x 1", Some(&b"-ERR value is not an integer or out of range\r\n"[..])),
        ("zrange z 0 9223372036854775807", Some(&b"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"[..])),
        ("zrange z -9223372036854775808 -1", Some(&b"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

#[test]
fn score_ranges() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("zadd z 1 a 2 b 3 c 4 d 5 e -inf ninf +inf pinf", Some(&b":7\r\n"[..])),
        ("zrangebyscore z -inf +inf", Some(&b"*7\r\n$4\r\nninf\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$4\r\npinf\r\n"[..])),
        ("zrangebyscore z -inf +inf withscores", Some(&b"*14\r\n$4\r\nninf\r\n$4\r\n-inf\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\ne\r\n$1\r\n5\r\n$4\r\npinf\r\n$3\r\ninf\r\n"[..])),
        ("zrangebyscore z (1 3", Some(&b"*2\r\n$1\r\nb\r\n$1\r\nc\r\n"[..])),
        ("zrangebyscore z (1 (3", Some(&b"*1\r\n$1\r\nb\r\n"[..])),
        ("zrangebyscore z 3 1", Some(&b"*0\r\n"[..])),
        ("zrangebyscore z (3 3", Some(&b"*0\r\n"[..])),
        ("zrangebyscore z 3 3", Some(&b"*1\r\n$1\r\nc\r\n"[..])),
        ("zrangebyscore z +inf +inf", Some(&b"*1\r\n$4\r\npinf\r\n"[..])),
        ("zrangebyscore z (-inf (+inf", Some(&b"*5\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"[..])),
        ("zrangebyscore z -inf +inf limit 1 2", Some(&b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"[..])),
        ("zrangebyscore z -inf +inf limit 1 -1", Some(&b"*6\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$4\r\npinf\r\n"[..])),
        ("zrangebyscore z -inf +inf limit 1 0", Some(&b"*0\r\n"[..])),
        ("zrangebyscore z -inf +inf limit -1 2", Some(&b"*0\r\n"[..])),
        ("zrangebyscore z -inf +inf limit 100 2", Some(&b"*0\r\n"[..])),
        ("zrangebyscore z -inf +inf limit 0 2 withscores", Some(&b"*4\r\n$4\r\nninf\r\n$4\r\n-inf\r\n$1\r\na\r\n$1\r\n1\r\n"[..])),
        ("zrangebyscore z 1 x", Some(&b"-ERR min or max is not a float\r\n"[..])),
        ("zrangebyscore z x 1", Some(&b"-ERR min or max is not a float\r\n"[..])),
        ("zrangebyscore z nan 1", Some(&b"-ERR min or max is not a float\r\n"[..])),
        ("zrangebyscore z ( 2", Some(&b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"[..])),
        ("zrangebyscore z 0x1 0x3", Some(&b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"[..])),
        ("zrangebyscore z 1 2 rev", Some(&b"-ERR syntax error\r\n"[..])),
        ("zrangebyscore z 1 2 bylex", Some(&b"-ERR syntax error\r\n"[..])),
        ("zrevrangebyscore z +inf -inf", Some(&b"*7\r\n$4\r\npinf\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n$4\r\nninf\r\n"[..])),
        ("zrevrangebyscore z 4 (2 withscores", Some(&b"*4\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n"[..])),
        ("zrevrangebyscore z -inf +inf", Some(&b"*0\r\n"[..])),
        ("zrevrangebyscore z +inf -inf limit 1 2", Some(&b"*2\r\n$1\r\ne\r\n$1\r\nd\r\n"[..])),
        ("zrange z 2 4 byscore", Some(&b"*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"[..])),
        ("zrange z 4 2 byscore rev withscores", Some(&b"*6\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n"[..])),
        ("zrange z (1 +inf byscore limit 1 1", Some(&b"*1\r\n$1\r\nc\r\n"[..])),
        ("zrange z 2 4 byscore withscores limit 0 -1 rev", Some(&b"*0\r\n"[..])),
        ("zcount z -inf +inf", Some(&b":7\r\n"[..])),
        ("zcount z (1 3", Some(&b":2\r\n"[..])),
        ("zcount z 3 1", Some(&b":0\r\n"[..])),
        ("zcount z a 1", Some(&b"-ERR min or max is not a float\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

#[test]
fn lex_ranges() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("zadd z 0 a 0 b 0 c 0 d 0 e 0 f 0 ab", Some(&b":7\r\n"[..])),
        ("zrangebylex z - +", Some(&b"*7\r\n$1\r\na\r\n$2\r\nab\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n"[..])),
        ("zrangebylex z + -", Some(&b"*0\r\n"[..])),
        ("zrangebylex z - -", Some(&b"*0\r\n"[..])),
        ("zrangebylex z [b [d", Some(&b"*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"[..])),
        ("zrangebylex z (b (d", Some(&b"*1\r\n$1\r\nc\r\n"[..])),
        ("zrangebylex z [a (b", Some(&b"*2\r\n$1\r\na\r\n$2\r\nab\r\n"[..])),
        ("zrangebylex z [b +", Some(&b"*5\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n"[..])),
        ("zrangebylex z - (c", Some(&b"*3\r\n$1\r\na\r\n$2\r\nab\r\n$1\r\nb\r\n"[..])),
        ("zrangebylex z - + limit 2 3", Some(&b"*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"[..])),
        ("zrangebylex z - + limit -1 3", Some(&b"*0\r\n"[..])),
        ("zrangebylex z - + withscores", Some(&b"-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"[..])),
        ("zrevrangebylex z + -", Some(&b"*7\r\n$1\r\nf\r\n$1\r\ne\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$2\r\nab\r\n$1\r\na\r\n"[..])),
        ("zrevrangebylex z [d (a", Some(&b"*4\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n$2\r\nab\r\n"[..])),
        ("zrevrangebylex z + - limit 1 2", Some(&b"*2\r\n$1\r\ne\r\n$1\r\nd\r\n"[..])),
        ("zrange z [b [d bylex", Some(&b"*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"[..])),
        ("zrange z [d [b bylex rev", Some(&b"*3\r\n$1\r\nd\r\n$1\r\nc\r\n$1\r\nb\r\n"[..])),
        ("zrange z - + bylex withscores", Some(&b"-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n"[..])),
        ("zrange z - + bylex limit 1 1", Some(&b"*1\r\n$2\r\nab\r\n"[..])),
        ("zrangebylex z a +", Some(&b"-ERR min or max not valid string range item\r\n"[..])),
        ("zrangebylex z - b", Some(&b"-ERR min or max not valid string range item\r\n"[..])),
        ("zrangebylex z +a +", Some(&b"-ERR min or max not valid string range item\r\n"[..])),
        ("zlexcount z - +", Some(&b":7\r\n"[..])),
        ("zlexcount z [b (e", Some(&b":3\r\n"[..])),
        ("zlexcount z (e [b", Some(&b":0\r\n"[..])),
        ("zlexcount z foo +", Some(&b"-ERR min or max not valid string range item\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

#[test]
fn range_removals() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("zadd z 1 a 2 b 3 c 4 d 5 e 6 f", Some(&b":6\r\n"[..])),
        ("zremrangebyrank z 0 0", Some(&b":1\r\n"[..])),
        ("zremrangebyrank z -1 -1", Some(&b":1\r\n"[..])),
        ("zremrangebyrank z 10 20", Some(&b":0\r\n"[..])),
        ("zremrangebyrank z 2 1", Some(&b":0\r\n"[..])),
        (
            "zremrangebyrank z x 1",
            Some(&b"-ERR value is not an integer or out of range\r\n"[..]),
        ),
        (
            "zrange z 0 -1",
            Some(&b"*4\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n"[..]),
        ),
        ("zremrangebyscore z (2 4", Some(&b":2\r\n"[..])),
        ("zremrangebyscore z 10 20", Some(&b":0\r\n"[..])),
        (
            "zremrangebyscore z x 1",
            Some(&b"-ERR min or max is not a float\r\n"[..]),
        ),
        ("zrange z 0 -1", Some(&b"*2\r\n$1\r\nb\r\n$1\r\ne\r\n"[..])),
        ("zremrangebyscore z -inf +inf", Some(&b":2\r\n"[..])),
        ("exists z", Some(&b":0\r\n"[..])),
        ("zadd l 0 a 0 b 0 c 0 d", Some(&b":4\r\n"[..])),
        ("zremrangebylex l [b (d", Some(&b":2\r\n"[..])),
        (
            "zremrangebylex l x +",
            Some(&b"-ERR min or max not valid string range item\r\n"[..]),
        ),
        ("zremrangebylex l - +", Some(&b":2\r\n"[..])),
        ("exists l", Some(&b":0\r\n"[..])),
        ("zadd r 1 a 2 b", Some(&b":2\r\n"[..])),
        ("zremrangebyrank r 0 -1", Some(&b":2\r\n"[..])),
        ("exists r", Some(&b":0\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

#[test]
fn pops() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("zadd z 1 a 2 b 3 c 4 d 5 e", Some(&b":5\r\n"[..])),
        ("zpopmin z", Some(&b"*2\r\n$1\r\na\r\n$1\r\n1\r\n"[..])),
        ("zpopmax z", Some(&b"*2\r\n$1\r\ne\r\n$1\r\n5\r\n"[..])),
        (
            "zpopmin z 2",
            Some(&b"*4\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"[..]),
        ),
        ("zpopmin z 0", Some(&b"*0\r\n"[..])),
        (
            "zpopmin z -1",
            Some(&b"-ERR value is out of range, must be positive\r\n"[..]),
        ),
        (
            "zpopmin z x",
            Some(&b"-ERR value is out of range, must be positive\r\n"[..]),
        ),
        ("zpopmin z 1 2", Some(&b"-ERR syntax error\r\n"[..])),
        ("zpopmax z 10", Some(&b"*2\r\n$1\r\nd\r\n$1\r\n4\r\n"[..])),
        ("exists z", Some(&b":0\r\n"[..])),
        ("zadd z 1 a 2 b 3 c", Some(&b":3\r\n"[..])),
        (
            "zmpop 1 z min",
            Some(&b"*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"[..]),
        ),
        (
            "zmpop 2 nokey z max count 10",
            Some(
                &b"*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
                    [..],
            ),
        ),
        ("exists z", Some(&b":0\r\n"[..])),
        ("zmpop 1 z min", Some(&b"*-1\r\n"[..])),
        (
            "zmpop 0 z min",
            Some(&b"-ERR numkeys should be greater than 0\r\n"[..]),
        ),
        (
            "zmpop -1 z min",
            Some(&b"-ERR numkeys should be greater than 0\r\n"[..]),
        ),
        (
            "zmpop x z min",
            Some(&b"-ERR numkeys should be greater than 0\r\n"[..]),
        ),
        (
            "zmpop 1 z",
            Some(&b"-ERR wrong number of arguments for 'zmpop' command\r\n"[..]),
        ),
        ("zmpop 1 z middle", Some(&b"-ERR syntax error\r\n"[..])),
        (
            "zmpop 1 z min count 0",
            Some(&b"-ERR count should be greater than 0\r\n"[..]),
        ),
        (
            "zmpop 1 z min count -1",
            Some(&b"-ERR count should be greater than 0\r\n"[..]),
        ),
        (
            "zmpop 1 z min count 1 count 1",
            Some(&b"-ERR syntax error\r\n"[..]),
        ),
        ("zmpop 1 z min foo", Some(&b"-ERR syntax error\r\n"[..])),
        ("zmpop 3 z min", Some(&b"-ERR syntax error\r\n"[..])),
        ("zmpop 2 z min", Some(&b"-ERR syntax error\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

#[test]
fn pops_resp3() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("hello 3", None),
        ("zadd z 1 a 2 b 3 c 4 d", Some(&b":4\r\n"[..])),
        ("zpopmin z", Some(&b"*2\r\n$1\r\na\r\n,1\r\n"[..])),
        ("zpopmin z 1", Some(&b"*1\r\n*2\r\n$1\r\nb\r\n,2\r\n"[..])),
        (
            "zpopmax z 2",
            Some(&b"*2\r\n*2\r\n$1\r\nd\r\n,4\r\n*2\r\n$1\r\nc\r\n,3\r\n"[..]),
        ),
        ("zpopmin nokey", Some(&b"*0\r\n"[..])),
        ("zpopmin nokey 2", Some(&b"*0\r\n"[..])),
        ("zmpop 1 z min", Some(&b"_\r\n"[..])),
        ("zmpop 1 nokey min", Some(&b"_\r\n"[..])),
        ("zadd z 1.5 x 2.5 y", Some(&b":2\r\n"[..])),
        (
            "zrange z 0 -1 withscores",
            Some(&b"*2\r\n*2\r\n$1\r\nx\r\n,1.5\r\n*2\r\n$1\r\ny\r\n,2.5\r\n"[..]),
        ),
        (
            "zrangebyscore z -inf +inf withscores",
            Some(&b"*2\r\n*2\r\n$1\r\nx\r\n,1.5\r\n*2\r\n$1\r\ny\r\n,2.5\r\n"[..]),
        ),
        (
            "zrevrangebyscore z +inf -inf withscores limit 0 1",
            Some(&b"*1\r\n*2\r\n$1\r\ny\r\n,2.5\r\n"[..]),
        ),
        ("zscore z x", Some(&b",1.5\r\n"[..])),
        ("zscore z nope", Some(&b"_\r\n"[..])),
        ("zmscore z x nope", Some(&b"*2\r\n,1.5\r\n_\r\n"[..])),
        ("zincrby z 1 x", Some(&b",2.5\r\n"[..])),
        ("zadd z incr 1 y", Some(&b",3.5\r\n"[..])),
        ("zadd z incr nx 1 y", Some(&b"_\r\n"[..])),
        (
            "zunion 1 z withscores",
            Some(&b"*2\r\n*2\r\n$1\r\nx\r\n,2.5\r\n*2\r\n$1\r\ny\r\n,3.5\r\n"[..]),
        ),
        (
            "zinter 1 z withscores",
            Some(&b"*2\r\n*2\r\n$1\r\nx\r\n,2.5\r\n*2\r\n$1\r\ny\r\n,3.5\r\n"[..]),
        ),
        (
            "zdiff 1 z withscores",
            Some(&b"*2\r\n*2\r\n$1\r\nx\r\n,2.5\r\n*2\r\n$1\r\ny\r\n,3.5\r\n"[..]),
        ),
        (
            "zrandmember z 5 withscores",
            Some(&b"*2\r\n*2\r\n$1\r\ny\r\n,3.5\r\n*2\r\n$1\r\nx\r\n,2.5\r\n"[..]),
        ),
        ("zrank z x withscore", Some(&b"*2\r\n:0\r\n,2.5\r\n"[..])),
        ("zrank z nope withscore", Some(&b"_\r\n"[..])),
        (
            "zscan z 0",
            Some(&b"*2\r\n$1\r\n0\r\n*4\r\n$1\r\nx\r\n$3\r\n2.5\r\n$1\r\ny\r\n$3\r\n3.5\r\n"[..]),
        ),
        ("zadd inf +inf a", Some(&b":1\r\n"[..])),
        ("zscore inf a", Some(&b",inf\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

#[test]
fn algebra() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("zadd a 1 x 2 y 3 z", Some(&b":3\r\n"[..])),
        ("zadd b 10 y 20 z 30 w", Some(&b":3\r\n"[..])),
        ("zadd c +inf x", Some(&b":1\r\n"[..])),
        ("zunion 2 a b", Some(&b"*4\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n$1\r\nw\r\n"[..])),
        ("zunion 2 a b withscores", Some(&b"*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n"[..])),
        ("zunion 2 a b weights 2 3 withscores", Some(&b"*8\r\n$1\r\nx\r\n$1\r\n2\r\n$1\r\ny\r\n$2\r\n34\r\n$1\r\nz\r\n$2\r\n66\r\n$1\r\nw\r\n$2\r\n90\r\n"[..])),
        ("zunion 2 a b weights 2 withscores", Some(&b"-ERR weight value is not a float\r\n"[..])),
        ("zunion 2 a b weights 2 x", Some(&b"-ERR weight value is not a float\r\n"[..])),
        ("zunion 2 a b aggregate min withscores", Some(&b"*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n$1\r\nw\r\n$2\r\n30\r\n"[..])),
        ("zunion 2 a b aggregate max withscores", Some(&b"*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n10\r\n$1\r\nz\r\n$2\r\n20\r\n$1\r\nw\r\n$2\r\n30\r\n"[..])),
        ("zunion 2 a b aggregate sum withscores", Some(&b"*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n"[..])),
        ("zunion 2 a b aggregate foo", Some(&b"-ERR syntax error\r\n"[..])),
        ("zunion 2 a b aggregate", Some(&b"-ERR syntax error\r\n"[..])),
        ("zunion 2 a b withscores withscores", Some(&b"*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n"[..])),
        ("zunion 3 a b nokey withscores", Some(&b"*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n"[..])),
        ("zunion 2 a c weights 0 1 withscores", Some(&b"*6\r\n$1\r\ny\r\n$1\r\n0\r\n$1\r\nz\r\n$1\r\n0\r\n$1\r\nx\r\n$3\r\ninf\r\n"[..])),
        ("zunion 2 c c weights 1 -1 withscores", Some(&b"*2\r\n$1\r\nx\r\n$1\r\n0\r\n"[..])),
        ("zinter 2 a b withscores", Some(&b"*4\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n"[..])),
        ("zinter 2 a b weights 1 0 withscores", Some(&b"*4\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n"[..])),
        ("zinter 2 a b aggregate max withscores", Some(&b"*4\r\n$1\r\ny\r\n$2\r\n10\r\n$1\r\nz\r\n$2\r\n20\r\n"[..])),
        ("zinter 2 a nokey withscores", Some(&b"*0\r\n"[..])),
        ("zinter 2 c c weights 1 -1 withscores", Some(&b"*2\r\n$1\r\nx\r\n$1\r\n0\r\n"[..])),
        ("zdiff 2 a b withscores", Some(&b"*2\r\n$1\r\nx\r\n$1\r\n1\r\n"[..])),
        ("zdiff 2 b a", Some(&b"*1\r\n$1\r\nw\r\n"[..])),
        ("zdiff 3 a b c withscores", Some(&b"*0\r\n"[..])),
        ("zdiff 2 a b weights 1 1", Some(&b"-ERR syntax error\r\n"[..])),
        ("zdiff 2 a b aggregate sum", Some(&b"-ERR syntax error\r\n"[..])),
        ("zdiff 1 nokey", Some(&b"*0\r\n"[..])),
        ("zunion 0 a", Some(&b"-ERR at least 1 input key is needed for 'zunion' command\r\n"[..])),
        ("zunion -1 a", Some(&b"-ERR at least 1 input key is needed for 'zunion' command\r\n"[..])),
        ("zunion x a", Some(&b"-ERR value is not an integer or out of range\r\n"[..])),
        ("zunion 3 a b", Some(&b"-ERR syntax error\r\n"[..])),
        ("zinter 0 a", Some(&b"-ERR at least 1 input key is needed for 'zinter' command\r\n"[..])),
        ("zdiff 0 a", Some(&b"-ERR at least 1 input key is needed for 'zdiff' command\r\n"[..])),
        ("zunionstore d 2 a b", Some(&b":4\r\n"[..])),
        ("zrange d 0 -1 withscores", Some(&b"*8\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$2\r\n12\r\n$1\r\nz\r\n$2\r\n23\r\n$1\r\nw\r\n$2\r\n30\r\n"[..])),
        ("zinterstore d 2 a b weights 2 2 aggregate max", Some(&b":2\r\n"[..])),
        ("zrange d 0 -1 withscores", Some(&b"*4\r\n$1\r\ny\r\n$2\r\n20\r\n$1\r\nz\r\n$2\r\n40\r\n"[..])),
        ("zdiffstore d 2 a b", Some(&b":1\r\n"[..])),
        ("zrange d 0 -1 withscores", Some(&b"*2\r\n$1\r\nx\r\n$1\r\n1\r\n"[..])),
        ("zunionstore d 2 a b withscores", Some(&b"-ERR syntax error\r\n"[..])),
        ("zunionstore d 0 a", Some(&b"-ERR at least 1 input key is needed for 'zunionstore' command\r\n"[..])),
        ("zinterstore d 2 a nokey", Some(&b":0\r\n"[..])),
        ("exists d", Some(&b":0\r\n"[..])),
        ("zintercard 2 a b", Some(&b":2\r\n"[..])),
        ("zintercard 2 a b limit 1", Some(&b":1\r\n"[..])),
        ("zintercard 2 a b limit 0", Some(&b":2\r\n"[..])),
        ("zintercard 2 a b limit -1", Some(&b"-ERR LIMIT can't be negative\r\n"[..])),
        ("zintercard 2 a b limit x", Some(&b"-ERR LIMIT can't be negative\r\n"[..])),
        ("zintercard 2 a b withscores", Some(&b"-ERR syntax error\r\n"[..])),
        ("zintercard 2 a b weights 1 1", Some(&b"-ERR syntax error\r\n"[..])),
        ("zintercard 0 a", Some(&b"-ERR at least 1 input key is needed for 'zintercard' command\r\n"[..])),
        ("zintercard 3 a b", Some(&b"-ERR syntax error\r\n"[..])),
        ("zintercard 2 a nokey", Some(&b":0\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

#[test]
fn rangestore() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("zadd a 1 x 2 y 3 z 0 w", Some(&b":4\r\n"[..])),
        ("zrangestore d a 0 -1", Some(&b":4\r\n"[..])),
        ("zrange d 0 -1 withscores", Some(&b"*8\r\n$1\r\nw\r\n$1\r\n0\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n$1\r\nz\r\n$1\r\n3\r\n"[..])),
        ("zrangestore d a 1 2 rev", Some(&b":2\r\n"[..])),
        ("zrange d 0 -1 withscores", Some(&b"*4\r\n$1\r\nx\r\n$1\r\n1\r\n$1\r\ny\r\n$1\r\n2\r\n"[..])),
        ("zrangestore d a (1 +inf byscore limit 0 1", Some(&b":1\r\n"[..])),
        ("zrange d 0 -1 withscores", Some(&b"*2\r\n$1\r\ny\r\n$1\r\n2\r\n"[..])),
        ("zrangestore d a [x [z bylex", Some(&b":3\r\n"[..])),
        ("zrange d 0 -1", Some(&b"*3\r\n$1\r\nx\r\n$1\r\ny\r\n$1\r\nz\r\n"[..])),
        ("zrangestore d a 0 -1 withscores", Some(&b"-ERR syntax error\r\n"[..])),
        ("zrangestore d a 0 -1 limit 0 1", Some(&b"-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"[..])),
        ("zrangestore d a 5 10", Some(&b":0\r\n"[..])),
        ("exists d", Some(&b":0\r\n"[..])),
        ("zrangestore d a 0 0", Some(&b":1\r\n"[..])),
        ("zrangestore d nokey 0 -1", Some(&b":0\r\n"[..])),
        ("exists d", Some(&b":0\r\n"[..])),
        ("zrangestore a a 0 1", Some(&b":2\r\n"[..])),
        ("zrange a 0 -1 withscores", Some(&b"*4\r\n$1\r\nw\r\n$1\r\n0\r\n$1\r\nx\r\n$1\r\n1\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

#[test]
fn randmember_errors() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("zadd z 1 a 2 b 3 c", Some(&b":3\r\n"[..])),
        ("zrandmember z 0", Some(&b"*0\r\n"[..])),
        ("zrandmember z 3 foo", Some(&b"-ERR syntax error\r\n"[..])),
        ("zrandmember z 3 withscores foo", Some(&b"-ERR syntax error\r\n"[..])),
        ("zrandmember z x", Some(&b"-ERR value is not an integer or out of range\r\n"[..])),
        ("zrandmember z -9223372036854775808", Some(&b"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"[..])),
        ("zrandmember z 9223372036854775807 withscores", Some(&b"-ERR value is out of range\r\n"[..])),
        ("zrandmember z -9223372036854775807 withscores", Some(&b"-ERR value is out of range\r\n"[..])),
        ("zrandmember z 10", Some(&b"*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"[..])),
        ("zrandmember z 10 withscores", Some(&b"*6\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n"[..])),
        ("zrandmember z 3", Some(&b"*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}

#[test]
fn scan_listpack() {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, reply) in [
        ("zadd z 1 a 2 b 3 c 1.5 ab", Some(&b":4\r\n"[..])),
        ("zscan z 0", Some(&b"*2\r\n$1\r\n0\r\n*8\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"[..])),
        ("zscan z 0 match a*", Some(&b"*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$3\r\n1.5\r\n"[..])),
        ("zscan z 0 count 1", Some(&b"*2\r\n$1\r\n0\r\n*8\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"[..])),
        ("zscan z 0 count 0", Some(&b"-ERR syntax error\r\n"[..])),
        ("zscan z 0 count x", Some(&b"-ERR value is not an integer or out of range\r\n"[..])),
        ("zscan z abc", Some(&b"-ERR invalid cursor\r\n"[..])),
        ("zscan z 0 foo", Some(&b"-ERR syntax error\r\n"[..])),
        ("zscan z 0 match", Some(&b"-ERR syntax error\r\n"[..])),
        ("zscan z 0 match * count 5", Some(&b"*2\r\n$1\r\n0\r\n*8\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"[..])),
        ("zscan z -1", Some(&b"*2\r\n$1\r\n0\r\n*8\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$3\r\n1.5\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"[..])),
    ] {
        let got = call(&mut raw, request);
        if let Some(reply) = reply {
            assert_eq!(got, reply, "{request}");
        }
    }
}
