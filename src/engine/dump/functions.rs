//! FUNCTION DUMP payloads as Redis 7.0 writes them (`rdbSaveFunctions`): each library's code as
//! an RDB string after the `RDB_OPCODE_FUNCTION2` opcode, then the usual footer. Reading also
//! takes 7.0-rc1/rc2's `RDB_OPCODE_FUNCTION` records (name, engine, description, code), turned
//! into code with a `#!<engine> name=<name>` first line as Redis turns them.

use super::rdb::{self, Reader};

/// `RDB_OPCODE_FUNCTION2`.
const OPCODE_FUNCTION2: u8 = 245;
/// `RDB_OPCODE_FUNCTION` (7.0 release candidates).
const OPCODE_FUNCTION: u8 = 246;

/// Bytes at the end of a payload that are not records: the RDB version and the CRC64.
const FOOTER: usize = 10;

/// The payload of the libraries whose code `codes` gives, in that order.
pub fn dump_functions<'a>(codes: impl IntoIterator<Item = &'a [u8]>) -> Vec<u8> {
    let mut out = Vec::new();
    for code in codes {
        out.push(OPCODE_FUNCTION2);
        rdb::put_string(&mut out, code);
    }
    super::seal(&mut out);
    out
}

/// The libraries' code in a payload `verify` accepted (footer included), in order, until the
/// first record that cannot be read; then Redis's text for why (FUNCTION RESTORE creates the
/// libraries read before it, and a failure among them is the one reported).
pub fn read_functions(payload: &[u8]) -> (Vec<Vec<u8>>, Option<&'static str>) {
    let mut reader = Reader::new(payload);
    let mut codes = Vec::new();
    while payload.len() - reader.position() > FOOTER {
        let Ok(kind) = reader.byte() else {
            return (codes, Some("can not read data type"));
        };
        let record = match kind {
            OPCODE_FUNCTION2 => reader
                .string()
                .map_err(|_| "Failed loading library payload"),
            OPCODE_FUNCTION => old_record(&mut reader),
            _ => return (codes, Some("given type is not a function")),
        };
        match record {
            Ok(code) => codes.push(code),
            Err(text) => return (codes, Some(text)),
        }
    }
    (codes, None)
}

fn old_record(reader: &mut Reader<'_>) -> Result<Vec<u8>, &'static str> {
    let name = reader.string().map_err(|_| "Failed loading library name")?;
    let engine = reader.string().map_err(|_| "Failed loading engine name")?;
    let has_description = reader
        .len()
        .map_err(|_| "Failed loading library description indicator")?;
    if has_description != 0 {
        reader
            .string()
            .map_err(|_| "Failed loading library description")?;
    }
    let blob = reader.string().map_err(|_| "Failed loading library blob")?;
    let mut code = b"#!".to_vec();
    code.extend_from_slice(&engine);
    code.extend_from_slice(b" name=");
    code.extend_from_slice(&name);
    code.push(b'\n');
    code.extend_from_slice(&blob);
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_reads_back() {
        let long = vec![b'x'; 300];
        let payload = dump_functions([&b"#!lua name=a\nreturn 1"[..], &long[..]]);
        assert!(super::super::verify(&payload).is_ok());
        let (codes, err) = read_functions(&payload);
        assert_eq!(err, None);
        assert_eq!(codes, vec![b"#!lua name=a\nreturn 1".to_vec(), long]);
    }

    #[test]
    fn damaged_records_name_what_failed() {
        let mut payload = vec![OPCODE_FUNCTION2, 0x05, b'a'];
        payload.extend_from_slice(&[0; FOOTER]);
        // The string runs into the footer and past the end.
        payload[1] = 0x3f;
        assert_eq!(
            read_functions(&payload).1,
            Some("Failed loading library payload")
        );
        let mut other = vec![0u8, 1];
        other.extend_from_slice(&[0; FOOTER]);
        assert_eq!(
            read_functions(&other).1,
            Some("given type is not a function")
        );
        let mut old = vec![OPCODE_FUNCTION, 1, b'n', 3, b'l', b'u', b'a', 0, 1, b'x'];
        old.extend_from_slice(&[0; FOOTER]);
        assert_eq!(
            read_functions(&old),
            (vec![b"#!lua name=n\nx".to_vec()], None)
        );
    }
}
