mod common;

use common::TestServer;

#[test]
fn set_get_ping() {
    let server = TestServer::start();
    let mut con = server.client();
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut con).unwrap();
    let v: String = redis::cmd("GET").arg("k").query(&mut con).unwrap();
    assert_eq!(v, "v");
    let mut raw = server.raw();
    assert_eq!(
        raw.call(&[b"NOPE", b"a"]),
        b"-ERR unknown command 'NOPE', with args beginning with: 'a' \r\n"
    );
}
