use super::*;

#[test]
fn doubles_like_printf_g17() {
    assert_eq!(format_double(1.5), "1.5");
    assert_eq!(format_double(3.0), "3");
    assert_eq!(format_double(0.1), "0.10000000000000001");
    assert_eq!(format_double(1e20), "1e+20");
    assert_eq!(format_double(1.25e-5), "1.2500000000000001e-05");
    assert_eq!(format_double(-2.5), "-2.5");
    assert_eq!(format_double(f64::INFINITY), "inf");
    assert_eq!(format_double(123456789.0), "123456789");
}

/// Appends of every size (small frames, bulks around and far above a block), checked against
/// the same frames in one contiguous buffer, with truncations and splits in between.
#[test]
fn blocks_hold_what_one_buffer_would() {
    let mut rng = fastrand::Rng::with_seed(11);
    for round in 0..40 {
        let mut out = ReplyBuf::new(Protocol::Resp2);
        let mut model: Vec<u8> = Vec::new();
        // Odd rounds only append, to check what the blocks cost.
        let append_only = round % 2 == 1;
        for _ in 0..300 {
            let size = match rng.u8(0..10) {
                0 => rng.usize(OWN_BLOCK..4 * OUTPUT_BLOCK),
                1 => rng.usize(1024..OWN_BLOCK),
                _ => rng.usize(0..64),
            };
            let data = vec![rng.u8(b'a'..=b'z'); size];
            let op = if append_only { 2 } else { rng.u8(0..20) };
            match op {
                0 => {
                    let mark = rng.usize(0..=out.len());
                    out.truncate(mark);
                    model.truncate(mark);
                }
                1 => {
                    let mark = rng.usize(0..=out.len());
                    let tail = out.split_off(mark);
                    assert_eq!(out.len(), mark);
                    out.bulk(&data);
                    let moved = model.split_off(mark);
                    model.extend_from_slice(&frame_of(&data));
                    out.unsplit(tail);
                    model.extend_from_slice(&moved);
                }
                // `bulk_with` (a value written in place) must frame as `bulk` does.
                2..=10 => {
                    out.bulk_with(data.len(), |dst| {
                        assert!(dst.iter().all(|&b| b == 0));
                        dst.copy_from_slice(&data);
                    });
                    model.extend_from_slice(&frame_of(&data));
                }
                _ => {
                    out.bulk(&data);
                    model.extend_from_slice(&frame_of(&data));
                }
            }
            assert_eq!(out.len(), model.len());
        }
        assert_eq!(out.to_vec(), model);
        // Appending only, never more than the data and two blocks' worth of free space (a
        // truncated block keeps its allocation).
        if append_only {
            assert!(
                out.capacity() <= out.len() + 2 * OUTPUT_BLOCK,
                "{}",
                out.capacity()
            );
        }
        out.clear(usize::MAX);
        assert!(out.is_empty());
        assert_eq!(out.blocks().count(), 0);
    }
}

fn frame_of(data: &[u8]) -> Vec<u8> {
    let mut one = ReplyBuf::frame(Protocol::Resp2, 0);
    one.bulk(data);
    one.freeze().to_vec()
}

#[test]
fn a_large_bulk_is_one_block_of_its_own() {
    let mut out = ReplyBuf::new(Protocol::Resp2);
    let value = vec![b'v'; 1 << 20];
    out.bulk(b"small");
    out.bulk(&value);
    out.int(7);
    // Header, then the value in an exact block; what follows went back to the first block's
    // free space.
    let blocks: Vec<&[u8]> = out.blocks().collect();
    assert_eq!(blocks.len(), 3);
    assert_eq!(blocks[1], &value[..]);
    assert_eq!(blocks[2], b"\r\n:7\r\n");
    assert_eq!(out.buf.capacity() + blocks[0].len(), INITIAL_CAPACITY);
}

#[test]
fn a_frame_stays_contiguous() {
    let mut frame = ReplyBuf::frame(Protocol::Resp2, 8);
    frame.bulk(&vec![b'x'; 3 * OUTPUT_BLOCK]);
    frame.bulk(b"after");
    assert_eq!(frame.blocks().count(), 1);
}

#[test]
fn the_cap_drops_the_append_that_reaches_it_and_all_after() {
    let mut out = ReplyBuf::new(Protocol::Resp2);
    out.limit(Some(1000));
    let value = [b'v'; 200];
    let mut complete = 0;
    for _ in 0..10 {
        out.bulk(&value);
        if !out.overflowed() {
            complete += 1;
        }
    }
    // 206 bytes a bulk: four fit below 1000, the fifth's value would reach it.
    assert_eq!(complete, 4);
    let mut capped = ReplyBuf::new(Protocol::Resp2);
    capped.limit(Some(1000));
    let mut filled = 0;
    for _ in 0..10 {
        capped.bulk_with(value.len(), |dst| {
            dst.copy_from_slice(&value);
            filled += 1;
        });
    }
    assert_eq!(capped.to_vec(), out.to_vec());
    assert!(capped.overflowed());
    // The value that reaches the cap is still made (then dropped, as `bulk` drops its
    // frame); once over, none is.
    assert_eq!(filled, 5);
    assert!(out.overflowed());
    assert!(out.len() < 1000);
    let len = out.len();
    out.simple("OK");
    out.raw(b"");
    assert_eq!(out.len(), len);
    // A big value never gets its block once over.
    out.bulk(&vec![b'v'; 1 << 20]);
    assert!(out.capacity() < 64 * 1024);
    // Lifting the cap does not resume a cut output; clearing it does.
    out.limit(None);
    out.ok();
    assert_eq!(out.len(), len);
    out.clear(usize::MAX);
    out.ok();
    assert_eq!(out.to_vec(), b"+OK\r\n");
}

#[test]
fn a_discarded_reply_does_not_overflow() {
    let mut out = ReplyBuf::new(Protocol::Resp2);
    out.ok();
    out.limit(Some(100));
    out.bulk(&[b'x'; 500]);
    assert!(out.overflowed());
    out.discard_from(5);
    assert!(!out.overflowed());
    out.int(1);
    assert_eq!(out.to_vec(), b"+OK\r\n:1\r\n");
}

#[test]
fn human_doubles_like_ld2string() {
    assert_eq!(format_human(13.361389338970184), "13.36138933897018433");
    assert_eq!(format_human(180.0), "180");
    assert_eq!(format_human(-0.0), "0");
    assert_eq!(format_human(-1e-20), "0");
    assert_eq!(format_human(0.5), "0.5");
    assert_eq!(format_human(2f64.powi(-18)), "0.00000381469726562");
    assert_eq!(format_human(f64::NEG_INFINITY), "-inf");
    let mut r3 = ReplyBuf::new(Protocol::Resp3);
    r3.human_double(-85.05112878);
    assert_eq!(&r3.buf[..], b",-85.0511287799999991\r\n");
}

#[test]
fn map_flattens_in_resp2() {
    let mut r2 = ReplyBuf::new(Protocol::Resp2);
    r2.map(1);
    r2.bulk(b"a");
    r2.int(1);
    assert_eq!(r2.to_vec(), b"*2\r\n$1\r\na\r\n:1\r\n");
    let mut r3 = ReplyBuf::new(Protocol::Resp3);
    r3.map(1);
    assert_eq!(r3.to_vec(), b"%1\r\n");
}
