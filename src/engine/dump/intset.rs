//! Redis's intset (small sets of integers in a DUMP): sorted, distinct integers in the smallest
//! width that holds them all. Read with every length checked, since a payload comes from a client.

use super::DumpError;

/// An intset of sorted, distinct integers in the smallest width that holds them all.
pub fn encode_intset(values: &mut [i64]) -> Vec<u8> {
    values.sort_unstable();
    let width: u32 = if values.iter().all(|&v| i16::try_from(v).is_ok()) {
        2
    } else if values.iter().all(|&v| i32::try_from(v).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + values.len() * width as usize);
    out.extend_from_slice(&width.to_le_bytes());
    out.extend_from_slice(&(values.len() as u32).to_le_bytes());
    for &v in values.iter() {
        out.extend_from_slice(&v.to_le_bytes()[..width as usize]);
    }
    out
}

pub fn decode_intset(blob: &[u8]) -> Result<Vec<i64>, DumpError> {
    if blob.len() < 8 {
        return Err(DumpError);
    }
    let width = u32::from_le_bytes(blob[..4].try_into().unwrap()) as usize;
    let len = u32::from_le_bytes(blob[4..8].try_into().unwrap()) as usize;
    if !matches!(width, 2 | 4 | 8) || Some(blob.len() - 8) != len.checked_mul(width) {
        return Err(DumpError);
    }
    let values: Vec<i64> = blob[8..]
        .chunks_exact(width)
        .map(|c| match width {
            2 => i16::from_le_bytes(c.try_into().unwrap()) as i64,
            4 => i32::from_le_bytes(c.try_into().unwrap()) as i64,
            _ => i64::from_le_bytes(c.try_into().unwrap()),
        })
        .collect();
    // Redis's intsetValidateIntegrity: strictly ascending.
    if values.windows(2).any(|w| w[0] >= w[1]) {
        return Err(DumpError);
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intset_round_trips_and_rejects_disorder() {
        let mut values = vec![5, -3, 70000];
        let blob = encode_intset(&mut values);
        assert_eq!(decode_intset(&blob).unwrap(), [-3, 5, 70000]);
        let mut unsorted = blob.clone();
        unsorted[8..12].copy_from_slice(&9i32.to_le_bytes());
        assert!(decode_intset(&unsorted).is_err());
        assert!(decode_intset(&blob[..blob.len() - 1]).is_err());
    }
}
