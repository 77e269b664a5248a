//! The GEO family against the real server. First the edge cases, each table the exact replies
//! redis-server 7.0.15 gave to the same requests on a fresh server (the Mercator limits and the
//! antimeridian, poles, huge and zero radii, ties, COUNT and ANY, units, empty results, stores,
//! errors in Redis's order, scores no GEOADD wrote), then the keyspace events, then a
//! differential run: a deterministic pseudo-random sequence of GEO commands sent to a
//! `redis-server` child process and to cachet, every raw reply compared byte for byte, in RESP2
//! and RESP3.

mod common;
#[path = "common/fleet.rs"]
mod fleet;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{call, complete_reply_len, TestServer};

/// Runs the requests in order on one connection and checks each reply. `hello 3` switches the
/// connection to RESP3; its reply (which names the server) is not compared.
fn replay(cases: &[(&str, &[u8])]) {
    let server = TestServer::start();
    let mut raw = server.raw();
    for (request, expected) in cases {
        let reply = call(&mut raw, request);
        if request.starts_with("hello") {
            continue;
        }
        assert_eq!(
            String::from_utf8_lossy(&reply),
            String::from_utf8_lossy(expected),
            "{request}"
        );
    }
}

#[test]
fn positions_at_the_limits() {
    replay(&[
        // The Mercator limits and the antimeridian: scores, positions and geohashes.
        ("geoadd g 180 85.05112878 ne -180 -85.05112878 sw 0 0 origin 179.9999999 0 east -179.9999999 0 west 13.361389 38.115556 Palermo -0 -0 negzero", b":7\r\n"),
        ("zrange g 0 -1 withscores", b"*14\r\n$2\r\nsw\r\n$1\r\n0\r\n$4\r\nwest\r\n$16\r\n1125899906842624\r\n$7\r\nnegzero\r\n$16\r\n3377699720527872\r\n$6\r\norigin\r\n$16\r\n3377699720527872\r\n$7\r\nPalermo\r\n$16\r\n3479099956230698\r\n$4\r\neast\r\n$16\r\n4128299658422954\r\n$2\r\nne\r\n$17\r\n13510798882111488\r\n"),
        ("geopos g ne sw origin east west Palermo negzero missing", b"*8\r\n*2\r\n$3\r\n180\r\n$19\r\n85.0511287799999991\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n*2\r\n$19\r\n0.00000268220901489\r\n$19\r\n0.00000126736058093\r\n*2\r\n$21\r\n179.99999731779098511\r\n$19\r\n0.00000126736058093\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$19\r\n0.00000126736058093\r\n*2\r\n$20\r\n13.36138933897018433\r\n$20\r\n38.11555639549629859\r\n*2\r\n$19\r\n0.00000268220901489\r\n$19\r\n0.00000126736058093\r\n*-1\r\n"),
        ("geohash g ne sw origin east west Palermo negzero missing", b"*8\r\n$11\r\nbp05b5048p0\r\n$11\r\n00bh0hbj200\r\n$11\r\ns0000000000\r\n$11\r\nxbpbpbpbpb0\r\n$11\r\n80000000000\r\n$11\r\nsqc8b49rny0\r\n$11\r\ns0000000000\r\n$-1\r\n"),
        ("geodist g east west", b"$6\r\n0.5967\r\n"),
        ("geodist g ne sw km", b"$10\r\n18919.8446\r\n"),
        ("geodist g origin origin", b"$6\r\n0.0000\r\n"),
        // Beyond the limits, in Redis's %f.
        ("geoadd g 180.0000001 0 x", b"-ERR invalid longitude,latitude pair 180.000000,0.000000\r\n"),
        ("geoadd g 0 85.05112879 x", b"-ERR invalid longitude,latitude pair 0.000000,85.051129\r\n"),
        ("geoadd g -180 -85.0511288 x", b"-ERR invalid longitude,latitude pair -180.000000,-85.051129\r\n"),
        ("geoadd g inf 0 x", b"-ERR invalid longitude,latitude pair inf,0.000000\r\n"),
        ("geoadd g 1e300 -1e-300 x", b"-ERR invalid longitude,latitude pair 1000000000000000052504760255204420248704468581108159154915854115511802457988908195786371375080447864043704443832883878176942523235360430575644792184786706982848387200926575803737830233794788090059368953234970799945081119038967640880074652742780142494579258788820056842838115669472196386865459400540160.000000,-0.000000\r\n"),
        ("geoadd g 1e400 0 x", b"-ERR value is not a valid float\r\n"),
        ("geoadd g 0 1e-400 x", b"-ERR value is not a valid float\r\n"),
        ("geoadd g 0 nan x", b"-ERR value is not a valid float\r\n"),
        ("geoadd g abc 0 x", b"-ERR value is not a valid float\r\n"),
        ("geoadd g 0x10 0x1p3 hex", b":1\r\n"),
        ("geoadd g +5 .5 plus", b":1\r\n"),
        ("geopos g hex plus", b"*2\r\n*2\r\n$20\r\n16.00000172853469849\r\n$19\r\n7.99999947522560007\r\n*2\r\n$19\r\n4.99999970197677612\r\n$19\r\n0.50000036325177888\r\n"),
        // A bad triple anywhere: nothing is added.
        ("geoadd g 1 1 a 500 1 b", b"-ERR invalid longitude,latitude pair 500.000000,1.000000\r\n"),
        ("zscore g a", b"$-1\r\n"),
        // RESP3: positions are double frames, missing ones null.
        ("hello 3", b""),
        ("geopos g ne Palermo missing", b"*3\r\n*2\r\n,180\r\n,85.0511287799999991\r\n*2\r\n,13.36138933897018433\r\n,38.11555639549629859\r\n_\r\n"),
        ("geohash g Palermo missing", b"*2\r\n$11\r\nsqc8b49rny0\r\n_\r\n"),
        ("geodist g origin Palermo mi", b"$9\r\n2768.0496\r\n"),
        ("geodist g origin missing", b"_\r\n"),
        ("geodist nokey a b", b"_\r\n"),
    ]);
}

#[test]
fn searches_at_the_edges() {
    replay(&[
        // Points around the antimeridian, the poles and one spot many members share (ties).
        ("geoadd g 179.95 0 e1 -179.95 0 w1 179.5 0.2 e2 -179.5 -0.2 w2 0 84.9 n1 90 84.9 n2 180 84.9 n3 -90 84.95 n4 0 -84.9 s1 120 -84.9 s2", b":10\r\n"),
        ("geoadd g 2.3522 48.8566 t1 2.3522 48.8566 t3 2.3522 48.8566 t2 2.3522 48.8566 t0 2.3523 48.8566 t4", b":5\r\n"),
        // Across the antimeridian, from either side.
        ("geosearch g fromlonlat 180 0 byradius 60 km asc withdist", b"*2\r\n*2\r\n$2\r\ne1\r\n$6\r\n5.5612\r\n*2\r\n$2\r\ne2\r\n$7\r\n59.8970\r\n"),
        ("geosearch g fromlonlat -180 0 byradius 100 km desc withcoord", b"*4\r\n*2\r\n$2\r\ne2\r\n*2\r\n$21\r\n179.50000137090682983\r\n$19\r\n0.20000090571705442\r\n*2\r\n$2\r\nw2\r\n*2\r\n$22\r\n-179.50000137090682983\r\n$20\r\n-0.20000090571705442\r\n*2\r\n$2\r\ne1\r\n*2\r\n$21\r\n179.95000094175338745\r\n$19\r\n0.00000126736058093\r\n*2\r\n$2\r\nw1\r\n*2\r\n$22\r\n-179.95000094175338745\r\n$19\r\n0.00000126736058093\r\n"),
        ("georadius g 179.99 0.1 80 km withdist withcoord withhash asc", b"*4\r\n*4\r\n$2\r\ne1\r\n$7\r\n11.9793\r\n:4128299522097706\r\n*2\r\n$21\r\n179.95000094175338745\r\n$19\r\n0.00000126736058093\r\n*4\r\n$2\r\nw1\r\n$7\r\n12.9709\r\n:1125900043167872\r\n*2\r\n$22\r\n-179.95000094175338745\r\n$19\r\n0.00000126736058093\r\n*4\r\n$2\r\ne2\r\n$7\r\n55.6240\r\n:4128294766816706\r\n*2\r\n$21\r\n179.50000137090682983\r\n$19\r\n0.20000090571705442\r\n*4\r\n$2\r\nw2\r\n$7\r\n65.8116\r\n:375304860553789\r\n*2\r\n$22\r\n-179.50000137090682983\r\n$20\r\n-0.20000090571705442\r\n"),
        ("geosearch g fromlonlat 180 0 bybox 200 100 km asc withdist", b"*2\r\n*2\r\n$2\r\ne1\r\n$6\r\n5.5612\r\n*2\r\n$2\r\ne2\r\n$7\r\n59.8970\r\n"),
        ("geosearch g fromlonlat 180 0 bybox 200 10 km asc", b"*1\r\n$2\r\ne1\r\n"),
        // Near the poles (cells wider, a step less).
        ("geosearch g fromlonlat 0 85 byradius 2500 km asc withdist", b"*3\r\n*2\r\n$2\r\nn1\r\n$7\r\n11.1226\r\n*2\r\n$2\r\nn4\r\n$8\r\n789.9236\r\n*2\r\n$2\r\nn2\r\n$8\r\n793.8777\r\n"),
        ("geosearch g frommember n1 byradius 1000 km desc withdist", b"*3\r\n*2\r\n$2\r\nn2\r\n$8\r\n801.6881\r\n*2\r\n$2\r\nn4\r\n$8\r\n797.7732\r\n*2\r\n$2\r\nn1\r\n$6\r\n0.0000\r\n"),
        ("geosearch g fromlonlat 45 -85 bybox 3000 800 km asc withdist", b"*2\r\n*2\r\n$2\r\ns1\r\n$8\r\n429.5489\r\n*2\r\n$2\r\ns2\r\n$8\r\n683.3731\r\n"),
        ("georadius g 0 -85.05112878 500 km withdist", b"*1\r\n*2\r\n$2\r\ns1\r\n$7\r\n16.8095\r\n"),
        // Huge radii: everything, and the same cell never read twice.
        ("geosearch g fromlonlat 0 0 byradius 50000 km asc withdist", b"*14\r\n*2\r\n$2\r\nt0\r\n$9\r\n5438.8287\r\n*2\r\n$2\r\nt1\r\n$9\r\n5438.8287\r\n*2\r\n$2\r\nt2\r\n$9\r\n5438.8287\r\n*2\r\n$2\r\nt3\r\n$9\r\n5438.8287\r\n*2\r\n$2\r\nt4\r\n$9\r\n5438.8291\r\n*2\r\n$2\r\nn1\r\n$9\r\n9443.1129\r\n*2\r\n$2\r\ns1\r\n$9\r\n9443.1129\r\n*2\r\n$2\r\nn4\r\n$10\r\n10010.3670\r\n*2\r\n$2\r\nn2\r\n$10\r\n10010.3670\r\n*2\r\n$2\r\ns2\r\n$10\r\n10293.7130\r\n*2\r\n$2\r\ne2\r\n$10\r\n19960.8370\r\n*2\r\n$2\r\nw2\r\n$10\r\n19960.8370\r\n*2\r\n$2\r\ne1\r\n$10\r\n20015.1728\r\n*2\r\n$2\r\nw1\r\n$10\r\n20015.1728\r\n"),
        ("geosearch g fromlonlat 0 0 byradius 1e9 km desc", b"*14\r\n$2\r\ne1\r\n$2\r\nw1\r\n$2\r\ne2\r\n$2\r\nw2\r\n$2\r\ns2\r\n$2\r\nn2\r\n$2\r\nn4\r\n$2\r\nn1\r\n$2\r\ns1\r\n$2\r\nt4\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n"),
        ("geosearch g fromlonlat 10 10 byradius inf m", b"*14\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n$2\r\nt4\r\n$2\r\nn1\r\n$2\r\ne2\r\n$2\r\ne1\r\n$2\r\nn2\r\n$2\r\ns1\r\n$2\r\ns2\r\n$2\r\nw1\r\n$2\r\nn4\r\n$2\r\nw2\r\n"),
        ("geosearch g fromlonlat 0 0 bybox 40000 40000 km asc", b"*12\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n$2\r\nt4\r\n$2\r\nn1\r\n$2\r\ns1\r\n$2\r\nn4\r\n$2\r\nn2\r\n$2\r\ns2\r\n$2\r\ne2\r\n$2\r\nw2\r\n"),
        ("georadius g 100 50 30000 km count 3 withdist", b"*3\r\n*2\r\n$2\r\nn2\r\n$9\r\n3891.4565\r\n*2\r\n$2\r\nn1\r\n$9\r\n4575.9937\r\n*2\r\n$2\r\nn4\r\n$9\r\n5002.9998\r\n"),
        // Zero radius and zero box.
        ("geosearch g frommember t1 byradius 0 m withdist", b"*4\r\n*2\r\n$2\r\nt0\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt1\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt2\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt3\r\n$6\r\n0.0000\r\n"),
        ("geosearch g frommember t1 bybox 0 0 m", b"*4\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n"),
        ("geosearch g frommember t1 byradius -0 m", b"*4\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n"),
        // Ties: members at one spot come in score-then-member order, COUNT takes the nearest.
        ("geosearch g frommember t1 byradius 1 km asc", b"*5\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n$2\r\nt4\r\n"),
        ("geosearch g frommember t1 byradius 1 km desc", b"*5\r\n$2\r\nt4\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n"),
        ("geosearch g frommember t1 byradius 1 km", b"*5\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n$2\r\nt4\r\n"),
        ("geosearch g frommember t4 byradius 1 km asc count 2", b"*2\r\n$2\r\nt4\r\n$2\r\nt0\r\n"),
        ("geosearch g frommember t4 byradius 1 km desc count 2 withdist", b"*2\r\n*2\r\n$2\r\nt0\r\n$6\r\n0.0075\r\n*2\r\n$2\r\nt1\r\n$6\r\n0.0075\r\n"),
        ("geosearch g frommember t4 byradius 1 km count 3 any", b"*3\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n"),
        ("geosearch g frommember t4 byradius 1 km count 3 any asc", b"*3\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n"),
        ("geosearch g frommember t4 byradius 1 km count 3 any desc", b"*3\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n"),
        ("geosearch g frommember t4 byradius 1 km count 100", b"*5\r\n$2\r\nt4\r\n$2\r\nt0\r\n$2\r\nt1\r\n$2\r\nt2\r\n$2\r\nt3\r\n"),
        // Units, any letter case.
        ("geosearch g frommember t1 byradius 0.01 KM withdist", b"*5\r\n*2\r\n$2\r\nt0\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt1\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt2\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt3\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt4\r\n$6\r\n0.0075\r\n"),
        ("geosearch g frommember t1 byradius 30 Ft withdist", b"*5\r\n*2\r\n$2\r\nt0\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt1\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt2\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt3\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt4\r\n$7\r\n24.4714\r\n"),
        ("geosearch g frommember t1 byradius 0.01 mI withdist", b"*5\r\n*2\r\n$2\r\nt0\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt1\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt2\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt3\r\n$6\r\n0.0000\r\n*2\r\n$2\r\nt4\r\n$6\r\n0.0046\r\n"),
        ("geodist g t1 t4 ft", b"$7\r\n24.4714\r\n"),
        ("geodist g t1 t4 MI", b"$6\r\n0.0046\r\n"),
        ("geodist g t1 t4 Km", b"$6\r\n0.0075\r\n"),
        ("geodist g t1 t4 yd", b"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"),
        ("geodist g t1 t4 m extra", b"-ERR syntax error\r\n"),
        // Empty results.
        ("geosearch g fromlonlat 50 0 byradius 1 km", b"*0\r\n"),
        ("geosearch nokey fromlonlat 50 0 byradius 1 km", b"*0\r\n"),
        ("georadius nokey 0 0 1 km", b"*0\r\n"),
        ("georadiusbymember nokey m junk unit", b"*0\r\n"),
        ("georadiusbymember_ro nokey m 1 km withdist", b"*0\r\n"),
        ("geosearch nokey frommember m bybox 1 1 km", b"*0\r\n"),
        ("geosearchstore dst nokey fromlonlat 0 0 byradius 1 km", b":0\r\n"),
        ("set dst x", b"+OK\r\n"),
        ("geosearchstore dst g fromlonlat 50 0 byradius 1 km", b":0\r\n"),
        ("exists dst", b":0\r\n"),
        // Stores: scores or distances, then the zset commands read the result.
        ("geosearchstore dst g frommember t4 byradius 1 km", b":5\r\n"),
        ("zrange dst 0 -1 withscores", b"*10\r\n$2\r\nt0\r\n$16\r\n3663832779122514\r\n$2\r\nt1\r\n$16\r\n3663832779122514\r\n$2\r\nt2\r\n$16\r\n3663832779122514\r\n$2\r\nt3\r\n$16\r\n3663832779122514\r\n$2\r\nt4\r\n$16\r\n3663832779124080\r\n"),
        ("geosearchstore dst g frommember t4 byradius 1 km storedist count 2", b":2\r\n"),
        ("zrange dst 0 -1 withscores", b"*4\r\n$2\r\nt4\r\n$1\r\n0\r\n$2\r\nt0\r\n$21\r\n0.0074588842590244267\r\n"),
        ("georadius g 2.3522 48.8566 1 km store dst2", b":5\r\n"),
        ("zrange dst2 0 -1 withscores", b"*10\r\n$2\r\nt0\r\n$16\r\n3663832779122514\r\n$2\r\nt1\r\n$16\r\n3663832779122514\r\n$2\r\nt2\r\n$16\r\n3663832779122514\r\n$2\r\nt3\r\n$16\r\n3663832779122514\r\n$2\r\nt4\r\n$16\r\n3663832779124080\r\n"),
        ("georadius g 2.3522 48.8566 1 km storedist dst2 store dst3", b":5\r\n"),
        ("zrange dst3 0 -1 withscores", b"*10\r\n$2\r\nt0\r\n$16\r\n3663832779122514\r\n$2\r\nt1\r\n$16\r\n3663832779122514\r\n$2\r\nt2\r\n$16\r\n3663832779122514\r\n$2\r\nt3\r\n$16\r\n3663832779122514\r\n$2\r\nt4\r\n$16\r\n3663832779124080\r\n"),
        ("exists dst2", b":1\r\n"),
        ("georadiusbymember g t4 10 m storedist dst2 asc count 1", b":1\r\n"),
        ("zrange dst2 0 -1 withscores", b"*2\r\n$2\r\nt4\r\n$1\r\n0\r\n"),
        ("georadius g 2.3522 48.8566 1 km store g", b":5\r\n"),
        ("zcard g", b":5\r\n"),
        ("type dst", b"+zset\r\n"),
        ("object encoding dst", b"$8\r\nlistpack\r\n"),
    ]);
}

#[test]
fn errors_in_redis_order() {
    replay(&[
        ("geoadd g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania", b":2\r\n"),
        ("set str x", b"+OK\r\n"),
        // WRONGTYPE comes first.
        ("geoadd str 1 1 m", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("geoadd str 1000 1 m", b"-ERR invalid longitude,latitude pair 1000.000000,1.000000\r\n"),
        ("geopos str m", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("geohash str m", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("geodist str a b", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("geodist str a b parsec", b"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"),
        ("georadius str 1000 0 -1 km", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("georadiusbymember str m 1 km", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("geosearch str fromlonlat 0 0 byradius 1 km", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("geosearchstore dst str fromlonlat 0 0 byradius 1 km", b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        ("geosearchstore str g fromlonlat 0 0 byradius 1000 km", b":0\r\n"),
        // GEOADD's own grammar.
        ("geoadd g 1 2", b"-ERR wrong number of arguments for 'geoadd' command\r\n"),
        ("geoadd g nx xx 1 2 m", b"-ERR syntax error\r\n"),
        ("geoadd g ch 1 2 m", b":1\r\n"),
        ("geoadd g ch nx xx", b"-ERR syntax error\r\n"),
        ("geoadd g ch ch ch", b"-ERR syntax error\r\n"),
        ("geoadd g gt 1 2 m 3 4", b"-ERR value is not a valid float\r\n"),
        ("geoadd g 1 2 m 3", b"-ERR syntax error\r\n"),
        ("geoadd g xx 1 1 new", b":0\r\n"),
        ("geoadd g nx 1 1 Palermo", b":0\r\n"),
        ("geoadd g xx ch 13.5 38 Palermo 1 1 new", b":1\r\n"),
        ("geoadd g nx ch 13.5 38 Palermo 1 1 new", b":1\r\n"),
        ("geoadd g ch 13.5 38 Palermo", b":0\r\n"),
        // Centre and shape.
        ("geosearch g byradius 1 km asc desc", b"-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for geosearch\r\n"),
        ("geosearch g fromlonlat 15 37 asc desc", b"-ERR exactly one of BYRADIUS and BYBOX can be specified for geosearch\r\n"),
        ("geosearch g frommember Palermo fromlonlat 15 37 byradius 1 km", b"-ERR syntax error\r\n"),
        ("geosearch g fromlonlat 15 37 frommember Palermo byradius 1 km", b"-ERR syntax error\r\n"),
        ("geosearch g frommember Palermo frommember Catania byradius 1 km withdist", b"*1\r\n*2\r\n$7\r\nCatania\r\n$6\r\n0.0000\r\n"),
        ("geosearch g fromlonlat 15 37 byradius 1 km bybox 1 1 km", b"-ERR syntax error\r\n"),
        ("geosearch g fromlonlat 15 37 bybox 1 1 km byradius 1 km", b"-ERR syntax error\r\n"),
        ("geosearch g frommember nosuch byradius 1 km", b"-ERR could not decode requested zset member\r\n"),
        ("geosearch g frommember nosuch byradius x km", b"-ERR could not decode requested zset member\r\n"),
        ("geosearch g byradius x km frommember nosuch", b"-ERR need numeric radius\r\n"),
        ("geosearch g fromlonlat 15 1000 byradius 1 km", b"-ERR invalid longitude,latitude pair 15.000000,1000.000000\r\n"),
        ("geosearch g fromlonlat 15 x byradius 1 km", b"-ERR value is not a valid float\r\n"),
        ("GeoSearch nokey byradius 1 km asc desc", b"-ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for GeoSearch\r\n"),
        ("GEOSEARCH nokey fromlonlat 0 0 asc desc", b"-ERR exactly one of BYRADIUS and BYBOX can be specified for GEOSEARCH\r\n"),
        ("geosearch g fromlonlat 15 37 byradius 1", b"-ERR syntax error\r\n"),
        ("geosearch g fromlonlat 15 37 bybox 1 1", b"-ERR syntax error\r\n"),
        // Numbers.
        ("geosearch g fromlonlat 15 37 byradius -1 km", b"-ERR radius cannot be negative\r\n"),
        ("geosearch g fromlonlat 15 37 byradius x km", b"-ERR need numeric radius\r\n"),
        ("geosearch g fromlonlat 15 37 byradius 1 parsec", b"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"),
        ("geosearch g fromlonlat 15 37 bybox x 1 km", b"-ERR need numeric width\r\n"),
        ("geosearch g fromlonlat 15 37 bybox 1 x km", b"-ERR need numeric height\r\n"),
        ("geosearch g fromlonlat 15 37 bybox x y km", b"-ERR need numeric width\r\n"),
        ("geosearch g fromlonlat 15 37 bybox -1 1 km", b"-ERR height or width cannot be negative\r\n"),
        ("geosearch g fromlonlat 15 37 bybox 1 -1 parsec", b"-ERR height or width cannot be negative\r\n"),
        ("geosearch g fromlonlat 15 37 bybox 1 1 parsec", b"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"),
        ("geosearch g fromlonlat 15 37 byradius 200 km count 0", b"-ERR COUNT must be > 0\r\n"),
        ("geosearch g fromlonlat 15 37 byradius 200 km count -1", b"-ERR COUNT must be > 0\r\n"),
        ("geosearch g fromlonlat 15 37 byradius 200 km count x", b"-ERR value is not an integer or out of range\r\n"),
        ("geosearch g fromlonlat 15 37 byradius 200 km count", b"-ERR syntax error\r\n"),
        ("geosearch g fromlonlat 15 37 byradius 200 km any", b"-ERR the ANY argument requires COUNT argument\r\n"),
        ("geosearch g fromlonlat 15 37 byradius 200 km count 1 any any", b"*1\r\n$7\r\nPalermo\r\n"),
        ("geosearch nokey fromlonlat 15 37 byradius 200 km any", b"-ERR the ANY argument requires COUNT argument\r\n"),
        // Stores and the options that do not go with them.
        ("geosearch g fromlonlat 15 37 byradius 200 km storedist", b"-ERR syntax error\r\n"),
        ("geosearch g fromlonlat 15 37 byradius 200 km store dst", b"-ERR syntax error\r\n"),
        ("geosearchstore dst g fromlonlat 15 37 byradius 200 km withdist", b"-ERR GEOSEARCHSTORE is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"),
        ("geosearchstore dst g fromlonlat 15 37 byradius 200 km store x", b"-ERR syntax error\r\n"),
        ("georadius g 15 37 200 km withhash store dst", b"-ERR STORE option in GEORADIUS is not compatible with WITHDIST, WITHHASH and WITHCOORD options\r\n"),
        ("georadius g 15 37 200 km storedist", b"-ERR syntax error\r\n"),
        ("georadius_ro g 15 37 200 km store dst", b"-ERR syntax error\r\n"),
        ("georadiusbymember_ro g Palermo 200 km storedist dst", b"-ERR syntax error\r\n"),
        ("georadius_ro g 15 37 200 km frommember Palermo", b"-ERR syntax error\r\n"),
        ("georadius g 15 37 200 km bybox 1 1 km", b"-ERR syntax error\r\n"),
        // GEORADIUS's fixed arguments.
        ("georadius g 1000 37 200 km", b"-ERR invalid longitude,latitude pair 1000.000000,37.000000\r\n"),
        ("georadius g 15 37 x km", b"-ERR need numeric radius\r\n"),
        ("georadius g 15 37 -5 km", b"-ERR radius cannot be negative\r\n"),
        ("georadius g 15 37 5 parsec", b"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"),
        ("georadius nokey 1000 37 200 km", b"-ERR invalid longitude,latitude pair 1000.000000,37.000000\r\n"),
        ("georadius nokey 15 37 200 parsec", b"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"),
        ("georadiusbymember g nosuch 200 km", b"-ERR could not decode requested zset member\r\n"),
        ("georadiusbymember g Palermo x km", b"-ERR need numeric radius\r\n"),
        ("georadiusbymember g Palermo 200 parsec", b"-ERR unsupported unit provided. please use M, KM, FT, MI\r\n"),
        ("georadiusbymember g Palermo 200 km withdist withcoord withhash asc", b"*2\r\n*4\r\n$7\r\nPalermo\r\n$6\r\n0.0000\r\n:3479097324432493\r\n*2\r\n$20\r\n13.50000053644180298\r\n$19\r\n38.0000009925631943\r\n*4\r\n$7\r\nCatania\r\n$8\r\n150.1486\r\n:3479447370796909\r\n*2\r\n$20\r\n15.08726745843887329\r\n$20\r\n37.50266842333162032\r\n"),
        ("georadius g 15 37 200 km", b"*2\r\n$7\r\nPalermo\r\n$7\r\nCatania\r\n"),
        ("georadius g 15 37 200 km junk", b"-ERR syntax error\r\n"),
        ("georadius g 15 37 200 km wItHdIsT", b"*2\r\n*2\r\n$7\r\nPalermo\r\n$8\r\n172.8860\r\n*2\r\n$7\r\nCatania\r\n$7\r\n56.4413\r\n"),
        // Arity.
        ("geoadd g 1 1", b"-ERR wrong number of arguments for 'geoadd' command\r\n"),
        ("geodist g a", b"-ERR wrong number of arguments for 'geodist' command\r\n"),
        ("geosearch g fromlonlat 0", b"-ERR wrong number of arguments for 'geosearch' command\r\n"),
        ("geosearchstore dst g fromlonlat 0 0", b"-ERR wrong number of arguments for 'geosearchstore' command\r\n"),
        ("georadius g 1 1 1", b"-ERR wrong number of arguments for 'georadius' command\r\n"),
        ("georadiusbymember g m 1", b"-ERR wrong number of arguments for 'georadiusbymember' command\r\n"),
        ("geopos g", b"*0\r\n"),
        ("geohash g", b"*0\r\n"),
    ]);
}

#[test]
fn geo_keys_are_sorted_sets() {
    replay(&[
        // A geo key is a sorted set: the zset commands read and change it.
        ("geoadd g 13.361389 38.115556 Palermo 15.087269 37.502669 Catania", b":2\r\n"),
        ("type g", b"+zset\r\n"),
        ("object encoding g", b"$8\r\nlistpack\r\n"),
        ("zscore g Palermo", b"$16\r\n3479099956230698\r\n"),
        ("zcard g", b":2\r\n"),
        ("zrem g Catania", b":1\r\n"),
        ("geopos g Catania", b"*1\r\n*-1\r\n"),
        // Scores no GEOADD wrote decode as Redis decodes them.
        ("zadd g -1 neg 1.5 frac inf top -inf bottom 1e300 huge 4503599627370496 p52 9007199254740992 p53", b":7\r\n"),
        ("geopos g neg frac top bottom huge p52 p53", b"*7\r\n*2\r\n$3\r\n180\r\n$19\r\n85.0511287799999991\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112497791824921\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n*2\r\n$3\r\n180\r\n$21\r\n-85.05112751263942528\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112751263942528\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$19\r\n85.0511287799999991\r\n*2\r\n$3\r\n180\r\n$21\r\n-85.05112751263942528\r\n"),
        ("geohash g neg frac top bottom huge p52 p53", b"*7\r\n$11\r\nbp05b5048p0\r\n$11\r\n00bh0hbj210\r\n$11\r\n00bh0hbj200\r\n$11\r\n00bh0hbj200\r\n$11\r\n00bh0hbj200\r\n$11\r\nbp05b5048p0\r\n$11\r\n00bh0hbj200\r\n"),
        ("geodist g neg huge km", b"$10\r\n18919.8446\r\n"),
        ("geosearch g fromlonlat -180 -85.05112878 byradius 1 km withhash withcoord", b"*1\r\n*3\r\n$4\r\nfrac\r\n:1\r\n*2\r\n$22\r\n-179.99999731779098511\r\n$21\r\n-85.05112497791824921\r\n"),
        ("georadiusbymember g frac 100 m withhash", b"*1\r\n*2\r\n$4\r\nfrac\r\n:1\r\n"),
        // A long member makes the set a skiplist; searches and positions are the same.
        ("geoadd g 13.361389 38.115556 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", b":1\r\n"),
        ("object encoding g", b"$8\r\nskiplist\r\n"),
        ("georadius g 13.361389 38.115556 1 km withdist", b"*2\r\n*2\r\n$7\r\nPalermo\r\n$6\r\n0.0001\r\n*2\r\n$110\r\naaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n$6\r\n0.0001\r\n"),
        // Keyword search for the movable store keys.
        ("command getkeys georadius g 0 0 1 km storedist a store b", b"*3\r\n$1\r\ng\r\n$1\r\nb\r\n$1\r\na\r\n"),
        ("command getkeys georadiusbymember g m 1 km withdist", b"*1\r\n$1\r\ng\r\n"),
        ("command getkeys geosearchstore d g fromlonlat 0 0 byradius 1 km", b"*2\r\n$1\r\nd\r\n$1\r\ng\r\n"),
    ]);
}

/// The events redis-server 7.0.15 published for the same commands: GEOADD is a ZADD, the stores
/// name themselves, an empty result deletes the destination.
#[test]
fn keyspace_events_as_redis() {
    let server = TestServer::start();
    let mut raw = server.raw();
    assert_eq!(
        call(&mut raw, "config set notify-keyspace-events KEA"),
        b"+OK\r\n"
    );
    let mut events = server.raw();
    events.call(&[b"psubscribe", b"__keyevent@0__:*"]);
    for request in [
        "geoadd g 1 1 a 2 2 b",
        "geoadd g 1 1 a",
        "geoadd g xx ch 1.5 1 a",
        "geosearchstore d g fromlonlat 1 1 byradius 500 km",
        "georadius g 1 1 500 km store d2",
        "georadius g 1 1 500 km storedist d2",
        "georadius_ro g 1 1 500 km",
        "geosearchstore d g fromlonlat 100 1 byradius 5 km",
        "geosearchstore d nokey fromlonlat 100 1 byradius 5 km",
        "georadius nokey 1 1 5 km store d2",
    ] {
        call(&mut raw, request);
    }
    let expected = [
        ("zadd", "g"),
        ("zadd", "g"),
        ("geosearchstore", "d"),
        ("georadiusstore", "d2"),
        ("georadiusstore", "d2"),
        ("del", "d"),
        ("del", "d2"),
    ];
    for (event, key) in expected {
        let message = events.read_reply();
        let channel = format!("__keyevent@0__:{event}");
        let tail = format!(
            "${}\r\n{channel}\r\n${}\r\n{key}\r\n",
            channel.len(),
            key.len()
        );
        assert!(
            message.ends_with(tail.as_bytes()),
            "expected {event} {key}, got {}",
            String::from_utf8_lossy(&message)
        );
    }
}

/// The elements of a top-level RESP array.
fn elements(reply: &[u8]) -> Vec<&[u8]> {
    let header = reply.windows(2).position(|w| w == b"\r\n").expect("header");
    let mut at = header + 2;
    let mut items = Vec::new();
    while at < reply.len() {
        let len = complete_reply_len(&reply[at..]).expect("complete element");
        items.push(&reply[at..at + len]);
        at += len;
    }
    items
}

/// Name, arity, flags, first key, last key, step, ACL categories.
type Info = (
    &'static str,
    i64,
    &'static [&'static str],
    [i64; 3],
    &'static [&'static str],
);

/// COMMAND INFO's name, arity, flags, key positions and ACL categories are Redis 7.0.15's; its
/// key specs are derived (see `commands/server/command.rs`), and COMMAND GETKEYS finds the STORE
/// keys as Redis's key specs do (checked in `geo_keys_are_sorted_sets`).
#[test]
fn command_info_as_redis() {
    let expected: [Info; 10] = [
        (
            "geoadd",
            -5,
            &["write", "denyoom"],
            [1, 1, 1],
            &["@write", "@geo", "@slow"],
        ),
        (
            "geodist",
            -4,
            &["readonly"],
            [1, 1, 1],
            &["@read", "@geo", "@slow"],
        ),
        (
            "geohash",
            -2,
            &["readonly"],
            [1, 1, 1],
            &["@read", "@geo", "@slow"],
        ),
        (
            "geopos",
            -2,
            &["readonly"],
            [1, 1, 1],
            &["@read", "@geo", "@slow"],
        ),
        (
            "geosearch",
            -7,
            &["readonly"],
            [1, 1, 1],
            &["@read", "@geo", "@slow"],
        ),
        (
            "geosearchstore",
            -8,
            &["write", "denyoom"],
            [1, 2, 1],
            &["@write", "@geo", "@slow"],
        ),
        (
            "georadius",
            -6,
            &["write", "denyoom", "movablekeys"],
            [1, 1, 1],
            &["@write", "@geo", "@slow"],
        ),
        (
            "georadius_ro",
            -6,
            &["readonly"],
            [1, 1, 1],
            &["@read", "@geo", "@slow"],
        ),
        (
            "georadiusbymember",
            -5,
            &["write", "denyoom", "movablekeys"],
            [1, 1, 1],
            &["@write", "@geo", "@slow"],
        ),
        (
            "georadiusbymember_ro",
            -5,
            &["readonly"],
            [1, 1, 1],
            &["@read", "@geo", "@slow"],
        ),
    ];
    let server = TestServer::start();
    let mut raw = server.raw();
    for (name, arity, flags, keys, categories) in expected {
        let reply = call(&mut raw, &format!("command info {name}"));
        let info = elements(elements(&reply)[0]);
        let bulk = |s: &str| format!("${}\r\n{s}\r\n", s.len());
        let set = |items: &[&str]| {
            let mut text = format!("*{}\r\n", items.len());
            for item in items {
                text.push_str(&format!("+{item}\r\n"));
            }
            text
        };
        assert_eq!(info[0], bulk(name).as_bytes(), "{name}");
        assert_eq!(info[1], format!(":{arity}\r\n").as_bytes(), "{name}");
        assert_eq!(info[2], set(flags).as_bytes(), "{name}");
        for (i, position) in keys.iter().enumerate() {
            assert_eq!(info[3 + i], format!(":{position}\r\n").as_bytes(), "{name}");
        }
        assert_eq!(info[6], set(categories).as_bytes(), "{name}");
    }
}

// ---------------------------------------------------------------------------------------------
// Differential run against redis-server.

/// splitmix64: a deterministic stream from one seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const LAT_MAX: f64 = 85.05112878;
const GEO_KEYS: [&str; 3] = ["g0", "g1", "g2"];
const DESTINATIONS: [&str; 2] = ["d0", "d1"];
/// Places many members crowd around: cities, the antimeridian, the poles' edges, the origin.
const HOTSPOTS: [(f64, f64); 10] = [
    (13.361389, 38.115556),
    (2.3522, 48.8566),
    (179.9, 0.0),
    (-179.9, 0.5),
    (0.0, 84.9),
    (45.0, -84.9),
    (-73.9857, 40.7484),
    (139.6917, 35.6895),
    (0.0, 0.0),
    (180.0, -10.0),
];

/// Generates GEO requests (and a few sorted-set and generic ones) over a small set of keys.
struct Generator {
    rng: Rng,
    /// Positions already used, reused to make members share a spot (ties).
    spots: Vec<(f64, f64)>,
    /// Members some GEOADD named, so most lookups find one.
    known: Vec<String>,
    /// GEOADDs still to send before anything else, so that searches find members.
    warm_up: usize,
}

impl Generator {
    /// A word in a random letter case.
    fn word(&mut self, word: &str) -> String {
        match self.rng.below(3) {
            0 => word.to_ascii_uppercase(),
            1 => word.to_string(),
            _ => word
                .chars()
                .map(|c| {
                    if self.rng.chance(50) {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect(),
        }
    }

    /// A number as clients write them: shortest, fixed, exponent, and now and then the spellings
    /// only C's strtod reads the same way (`+5`, `5.`, hexadecimal).
    fn number(&mut self, value: f64) -> String {
        match self.rng.below(20) {
            0..=7 => format!("{value}"),
            8..=13 => format!("{value:.*}", self.rng.below(9)),
            14..=15 => format!("{value:e}"),
            16 if value >= 0.0 => format!("+{value}"),
            17 if value.fract() == 0.0 && value.abs() < 1e6 => format!("{value}."),
            18 if value.fract() == 0.0 && (0.0..1e6).contains(&value) => {
                format!("0x{:x}", value as u64)
            }
            _ => format!("{value:.3}"),
        }
    }

    fn position(&mut self) -> (f64, f64) {
        let (lon, lat) = match self.rng.below(20) {
            0..=5 => (
                self.rng.unit() * 360.0 - 180.0,
                (self.rng.unit() * 2.0 - 1.0) * LAT_MAX,
            ),
            6..=13 => {
                let (lon, lat) = *self.rng.pick(&HOTSPOTS);
                let spread = *self.rng.pick(&[1e-6, 1e-3, 0.05, 0.5, 3.0]);
                let lon = lon + spread * (self.rng.unit() * 2.0 - 1.0);
                let lat = lat + spread * (self.rng.unit() * 2.0 - 1.0);
                (lon.clamp(-180.0, 180.0), lat.clamp(-LAT_MAX, LAT_MAX))
            }
            14..=17 if !self.spots.is_empty() => *self.rng.pick(&self.spots),
            _ => (
                *self
                    .rng
                    .pick(&[-180.0, 180.0, 0.0, -0.0, 179.99999, -179.99999, 90.0]),
                *self
                    .rng
                    .pick(&[LAT_MAX, -LAT_MAX, 0.0, 85.0, -85.0, 84.99999]),
            ),
        };
        if self.spots.len() < 2000 {
            self.spots.push((lon, lat));
        }
        (lon, lat)
    }

    /// A search's centre: mostly where members are.
    fn center(&mut self) -> (f64, f64) {
        if self.spots.is_empty() || self.rng.chance(20) {
            return self.position();
        }
        let (lon, lat) = *self.rng.pick(&self.spots);
        if self.rng.chance(50) {
            return (lon, lat);
        }
        let lon = lon + 0.1 * (self.rng.unit() * 2.0 - 1.0);
        let lat = lat + 0.1 * (self.rng.unit() * 2.0 - 1.0);
        (lon.clamp(-180.0, 180.0), lat.clamp(-LAT_MAX, LAT_MAX))
    }

    /// Longitude and latitude arguments, now and then invalid.
    fn lon_lat(&mut self, args: &mut Vec<String>, search: bool) {
        if self.rng.chance(3) {
            let bad = [
                ("180.0001", "0"),
                ("0", "85.06"),
                ("-180.5", "-85.06"),
                ("abc", "1"),
                ("1", "nan"),
                ("1e400", "0"),
                ("", "0"),
                ("inf", "0"),
                ("0", "-inf"),
            ];
            let (lon, lat) = *self.rng.pick(&bad);
            args.push(lon.to_string());
            args.push(lat.to_string());
            return;
        }
        let (lon, lat) = if search {
            self.center()
        } else {
            self.position()
        };
        args.push(self.number(lon));
        args.push(self.number(lat));
    }

    fn member(&mut self) -> String {
        if !self.known.is_empty() && self.rng.chance(80) {
            return self.rng.pick(&self.known).clone();
        }
        match self.rng.below(40) {
            0 => "x".repeat(70),
            1 => "m\u{0}nul".to_string(),
            2 => "é".to_string(),
            _ => format!("m{}", self.rng.below(300)),
        }
    }

    fn key(&mut self) -> String {
        match self.rng.below(30) {
            0 => "str".to_string(),
            1 => "plain".to_string(),
            2 => "missing".to_string(),
            // Mostly one key, so that members and searches meet.
            3..=20 => GEO_KEYS[0].to_string(),
            _ => self.rng.pick(&GEO_KEYS).to_string(),
        }
    }

    fn unit_name(&mut self) -> (String, f64) {
        if self.rng.chance(2) {
            return ("yd".to_string(), 1.0);
        }
        let (name, metres) =
            *self
                .rng
                .pick(&[("m", 1.0), ("km", 1000.0), ("ft", 0.3048), ("mi", 1609.34)]);
        (self.word(name), metres)
    }

    /// A distance in metres spread over eight orders of magnitude, in the unit's terms.
    fn distance(&mut self, metres_per_unit: f64) -> String {
        match self.rng.below(40) {
            0 => "0".to_string(),
            1 => "-1".to_string(),
            2 => "inf".to_string(),
            3 => "x".to_string(),
            4 => "1e9".to_string(),
            _ => {
                // 1 m to 20,000 km, most between 1 and 1000 km.
                let exponent = match self.rng.below(10) {
                    0..=2 => self.rng.unit() * 3.0,
                    3..=7 => 3.0 + self.rng.unit() * 3.0,
                    _ => 6.0 + self.rng.unit() * 1.3,
                };
                self.number(10f64.powf(exponent) / metres_per_unit)
            }
        }
    }

    fn radius(&mut self, args: &mut Vec<String>) {
        let (unit, metres) = self.unit_name();
        args.push(self.distance(metres));
        args.push(unit);
    }

    fn rect(&mut self, args: &mut Vec<String>) {
        let (unit, metres) = self.unit_name();
        args.push(self.distance(metres));
        args.push(self.distance(metres));
        args.push(unit);
    }

    /// The options shared by every search, in a random order.
    fn search_options(&mut self, args: &mut Vec<String>, store: bool) {
        let mut options: Vec<Vec<String>> = Vec::new();
        if !store || self.rng.chance(5) {
            for name in ["withcoord", "withdist", "withhash"] {
                if self.rng.chance(40) {
                    options.push(vec![self.word(name)]);
                }
            }
        }
        match self.rng.below(4) {
            0 => options.push(vec![self.word("asc")]),
            1 => options.push(vec![self.word("desc")]),
            _ => {}
        }
        let counts = self.rng.chance(40);
        if counts {
            let count = match self.rng.below(30) {
                0 => "0".to_string(),
                1 => "-2".to_string(),
                2 => "x".to_string(),
                _ => (1 + self.rng.below(25)).to_string(),
            };
            options.push(vec![self.word("count"), count]);
        }
        if self.rng.chance(if counts { 35 } else { 3 }) {
            options.push(vec![self.word("any")]);
        }
        if self.rng.chance(2) {
            options.push(vec!["junk".to_string()]);
        }
        // Shuffle, then keep COUNT's value right after COUNT.
        for i in (1..options.len()).rev() {
            let j = self.rng.below(i + 1);
            options.swap(i, j);
        }
        args.extend(options.into_iter().flatten());
    }

    fn geosearch(&mut self, store: bool) -> Vec<String> {
        let mut args = if store {
            vec![
                self.word("geosearchstore"),
                self.rng.pick(&DESTINATIONS).to_string(),
                self.key(),
            ]
        } else {
            vec![self.word("geosearch"), self.key()]
        };
        let mut parts: Vec<Vec<String>> = Vec::new();
        let center = self.rng.below(20);
        if center < 9 || center == 18 {
            parts.push(vec![self.word("frommember"), self.member()]);
        }
        if (9..18).contains(&center) || center == 18 {
            let mut part = vec![self.word("fromlonlat")];
            self.lon_lat(&mut part, true);
            parts.push(part);
        }
        let shape = self.rng.below(20);
        if shape < 11 || shape == 19 {
            let mut part = vec![self.word("byradius")];
            self.radius(&mut part);
            parts.push(part);
        }
        if (11..19).contains(&shape) || shape == 19 {
            let mut part = vec![self.word("bybox")];
            self.rect(&mut part);
            parts.push(part);
        }
        if self.rng.chance(30) {
            parts.reverse();
        }
        args.extend(parts.into_iter().flatten());
        self.search_options(&mut args, store);
        if store && self.rng.chance(40) {
            args.push(self.word("storedist"));
        }
        args
    }

    /// A GEORADIUS form, and whether it only reads (no STORE).
    fn georadius(&mut self, by_member: bool, read_only: bool) -> (Vec<String>, bool) {
        let name = match (by_member, read_only) {
            (false, false) => "georadius",
            (false, true) => "georadius_ro",
            (true, false) => "georadiusbymember",
            (true, true) => "georadiusbymember_ro",
        };
        let mut args = vec![self.word(name), self.key()];
        if by_member {
            args.push(self.member());
        } else {
            self.lon_lat(&mut args, true);
        }
        self.radius(&mut args);
        let store = (!read_only && self.rng.chance(35)) || self.rng.chance(2);
        self.search_options(&mut args, store);
        if store {
            let option = if self.rng.chance(50) {
                "store"
            } else {
                "storedist"
            };
            args.push(self.word(option));
            args.push(self.rng.pick(&DESTINATIONS).to_string());
        }
        (args, !store)
    }

    fn geoadd(&mut self) -> Vec<String> {
        let mut args = vec![self.word("geoadd"), self.key()];
        for option in ["nx", "xx", "ch"] {
            if self.rng.chance(12) {
                args.push(self.word(option));
            }
        }
        for _ in 0..1 + self.rng.below(6) {
            self.lon_lat(&mut args, false);
            let member = self.member();
            if self.known.len() < 1000 {
                self.known.push(member.clone());
            }
            args.push(member);
        }
        if self.rng.chance(3) {
            args.pop();
        }
        args
    }

    /// One request, and whether it only reads (it is then sent in both protocols).
    fn request(&mut self) -> (Vec<String>, bool) {
        if self.warm_up > 0 {
            self.warm_up -= 1;
            return (self.geoadd(), false);
        }
        let members = |g: &mut Generator, args: &mut Vec<String>| {
            for _ in 0..1 + g.rng.below(5) {
                args.push(g.member());
            }
        };
        match self.rng.below(100) {
            0..=21 => (self.geoadd(), false),
            22..=39 => (self.geosearch(false), true),
            40..=45 => (self.geosearch(true), false),
            46..=52 => self.georadius(false, false),
            53..=56 => self.georadius(false, true),
            57..=61 => self.georadius(true, false),
            62..=64 => self.georadius(true, true),
            65..=70 => {
                let mut args = vec![self.word("geopos"), self.key()];
                members(self, &mut args);
                (args, true)
            }
            71..=74 => {
                let mut args = vec![self.word("geohash"), self.key()];
                members(self, &mut args);
                (args, true)
            }
            75..=81 => {
                let mut args = vec![
                    self.word("geodist"),
                    self.key(),
                    self.member(),
                    self.member(),
                ];
                if self.rng.chance(60) {
                    args.push(self.unit_name().0);
                }
                if self.rng.chance(3) {
                    args.push("km".to_string());
                }
                (args, true)
            }
            82..=85 => {
                let key = if self.rng.chance(70) {
                    self.rng.pick(&DESTINATIONS).to_string()
                } else {
                    self.key()
                };
                (
                    vec![
                        "zrange".into(),
                        key,
                        "0".into(),
                        "-1".into(),
                        "withscores".into(),
                    ],
                    true,
                )
            }
            86..=88 => {
                let mut args = vec!["zrem".to_string(), self.key()];
                members(self, &mut args);
                (args, false)
            }
            89 => {
                // Rarely the whole set: it takes hundreds of GEOADDs to fill again.
                let key = if self.rng.chance(10) {
                    self.key()
                } else {
                    self.rng.pick(&DESTINATIONS).to_string()
                };
                (vec!["del".to_string(), key], false)
            }
            90..=91 => {
                // Scores no GEOADD writes, into a geo key or the plain set.
                let score = *self.rng.pick(&[
                    "-1",
                    "1.5",
                    "inf",
                    "-inf",
                    "1e300",
                    "4503599627370496",
                    "9007199254740992",
                    "4503599627370495",
                    "1e-300",
                ]);
                let key = if self.rng.chance(50) {
                    "plain".to_string()
                } else {
                    self.key()
                };
                (vec!["zadd".into(), key, score.into(), self.member()], false)
            }
            92 => (vec!["object".into(), "encoding".into(), self.key()], true),
            93 => (vec!["set".into(), "str".into(), "text".into()], false),
            _ => (self.geosearch(false), true),
        }
    }
}

/// One connection to each server, requests pipelined, protocol switched with HELLO in-line.
struct Pipe {
    stream: TcpStream,
    pending: Vec<u8>,
}

impl Pipe {
    fn connect(port: u16) -> Pipe {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        Pipe {
            stream,
            pending: Vec::new(),
        }
    }

    /// Sends every request, then reads one reply per request.
    fn run(&mut self, requests: &[Vec<Vec<u8>>]) -> Vec<Vec<u8>> {
        let mut bytes = Vec::new();
        for args in requests {
            bytes.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
            for arg in args {
                bytes.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
                bytes.extend_from_slice(arg);
                bytes.extend_from_slice(b"\r\n");
            }
        }
        self.stream.write_all(&bytes).expect("write");
        requests.iter().map(|_| self.reply()).collect()
    }

    /// The next reply (or pushed message).
    fn reply(&mut self) -> Vec<u8> {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            if let Some(len) = complete_reply_len(&self.pending) {
                return self.pending.drain(..len).collect();
            }
            let n = self.stream.read(&mut chunk).expect("read");
            assert!(n > 0, "server closed the connection");
            self.pending.extend_from_slice(&chunk[..n]);
        }
    }
}

/// Printable form of a request or reply for a failure message.
fn show(bytes: &[u8]) -> String {
    let text: String = bytes.escape_ascii().to_string();
    if text.len() > 1500 {
        format!("{}... ({} bytes)", &text[..1500], bytes.len())
    } else {
        text
    }
}

/// Published keyspace events, read until the sentinel message.
fn drain_events(subscriber: &mut Pipe, sentinel: &[u8]) -> Vec<Vec<u8>> {
    let mut events = Vec::new();
    loop {
        let message = subscriber.reply();
        if message.windows(sentinel.len()).any(|w| w == sentinel) {
            return events;
        }
        events.push(message);
    }
}

/// The same pseudo-random GEO workload on redis-server and on cachet: every reply byte for byte,
/// in the protocol the request was sent in (reads in both), then the keyspace events each
/// published and the final contents of every key. `GEO_DIFF_SEED` and `GEO_DIFF_REQUESTS`
/// change the run.
#[test]
fn differential_against_redis_server() {
    let seed: u64 = std::env::var("GEO_DIFF_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(13);
    let total: usize = std::env::var("GEO_DIFF_REQUESTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    // GEO_DIFF_DUMP=<file> writes every compared request and reply there, for a look at the mix.
    let mut dump = std::env::var("GEO_DIFF_DUMP")
        .ok()
        .map(|path| std::fs::File::create(path).expect("dump file"));
    let redis = fleet::RedisServer::start();
    let cachet = TestServer::start();
    let ports = [redis.port, cachet.port()];
    let mut pipes = ports.map(Pipe::connect);
    let mut subscribers = ports.map(Pipe::connect);
    let setup: Vec<Vec<Vec<u8>>> = ["config set notify-keyspace-events KEA", "set str text"]
        .iter()
        .map(|line| line.split(' ').map(|w| w.as_bytes().to_vec()).collect())
        .collect();
    for pipe in &mut pipes {
        pipe.run(&setup);
    }
    for subscriber in &mut subscribers {
        subscriber.run(&[vec![
            b"psubscribe".to_vec(),
            b"__keyevent@0__:*".to_vec(),
            b"sentinel".to_vec(),
        ]]);
        subscriber.reply();
    }
    let mut generator = Generator {
        rng: Rng(seed),
        spots: Vec::new(),
        known: Vec::new(),
        warm_up: 150,
    };
    let hello = |version: &str| vec![b"hello".to_vec(), version.as_bytes().to_vec()];
    let (mut compared, mut resp3, mut errors, mut bytes) = (0, 0, 0, 0);
    let mut resp = 2;
    let mut sent = 0;
    while sent < total {
        // A batch of requests, each in the connection's current protocol; a read goes again in
        // the other protocol.
        let mut frames: Vec<Vec<Vec<u8>>> = Vec::new();
        let mut compare: Vec<(usize, usize)> = Vec::new();
        for _ in 0..25 {
            let (request, reads) = generator.request();
            let request: Vec<Vec<u8>> = request.into_iter().map(String::into_bytes).collect();
            let times = if reads { 2 } else { 1 };
            for copy in 0..times {
                if copy == 1 || generator.rng.chance(50) {
                    resp = if resp == 2 { 3 } else { 2 };
                    frames.push(hello(&resp.to_string()));
                }
                compare.push((frames.len(), resp));
                frames.push(request.clone());
            }
            sent += 1;
        }
        let expected = pipes[0].run(&frames);
        let got = pipes[1].run(&frames);
        for &(at, protocol) in &compare {
            assert!(
                expected[at] == got[at],
                "request {sent} (seed {seed}), RESP{protocol}: {}\n redis:  {}\n cachet: {}",
                show(&frames[at].join(&b' ')),
                show(&expected[at]),
                show(&got[at]),
            );
            if let Some(file) = dump.as_mut() {
                let line = format!("{}\n  {}\n", show(&frames[at].join(&b' ')), show(&got[at]));
                file.write_all(line.as_bytes()).expect("dump");
            }
            compared += 1;
            bytes += got[at].len();
            if got[at].starts_with(b"-") {
                errors += 1;
            }
            if protocol == 3 {
                resp3 += 1;
            }
        }
    }
    // Everything each key holds, scores included.
    let mut finals = Vec::new();
    for key in GEO_KEYS
        .iter()
        .chain(&DESTINATIONS)
        .chain(&["plain", "str", "missing"])
    {
        finals.push(vec![b"hello".to_vec(), b"2".to_vec()]);
        finals.push(
            ["zrange", key, "0", "-1", "withscores"]
                .map(|w| w.as_bytes().to_vec())
                .to_vec(),
        );
        finals.push(["type", key].map(|w| w.as_bytes().to_vec()).to_vec());
    }
    let sentinel = b"geo-differential-end".to_vec();
    finals.push(vec![
        b"publish".to_vec(),
        b"sentinel".to_vec(),
        sentinel.clone(),
    ]);
    let expected = pipes[0].run(&finals);
    let got = pipes[1].run(&finals);
    for (i, frame) in finals.iter().enumerate().filter(|(_, f)| f[0] != b"hello") {
        assert_eq!(
            show(&expected[i]),
            show(&got[i]),
            "{}",
            show(&frame.join(&b' '))
        );
    }
    let expected_events = drain_events(&mut subscribers[0], &sentinel);
    let got_events = drain_events(&mut subscribers[1], &sentinel);
    for (i, (e, g)) in expected_events.iter().zip(&got_events).enumerate() {
        assert_eq!(show(e), show(g), "event {i} of {}", expected_events.len());
    }
    assert_eq!(expected_events.len(), got_events.len(), "event counts");
    eprintln!(
        "geo differential: seed {seed}, {sent} requests, {compared} replies equal ({resp3} in \
         RESP3, {errors} errors, {bytes} bytes), {} keyspace events equal",
        expected_events.len()
    );
}
