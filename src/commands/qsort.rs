//! The two sorts Redis orders replies with, reproduced for the order they leave ties in: GEO's
//! search results and SORT's elements both go through them.
//!
//! Ties are common (points at one distance, SORT elements whose BY key is missing), and a client
//! sees their order. Redis sorts a whole vector with the C library's `qsort`, which in glibc is a
//! stable top-down merge sort (glibc 2.36 here; 2.37-2.38 briefly used an introsort), and, when only
//! part of the vector is returned (GEO's COUNT, SORT's BY with a LIMIT), with its own `pqsort`:
//! Bentley and McIlroy's quicksort from NetBSD, which only descends into parts overlapping the
//! wanted range and is not stable. Both run here on a permutation of indexes with the caller's
//! three-way comparison, which need not be a total order (a NaN distance, ALPHA comparing up to a
//! NUL): that is why no library sort can stand in for either, and replacing one changes replies
//! (the differential tests in `tests/geo.rs` and `tests/sort.rs` notice). NetBSD's quicksort
//! falls back to an insertion sort on a part that needed no swap; Redis's copy has no such
//! shortcut, and neither has this one (GEO's differential test tells the two apart).

/// glibc's `qsort` (its merge sort): halves of `n / 2` and the rest, merged taking from the left
/// unless it compares above the right.
pub fn merge_sort<T: Copy>(order: &mut [T], cmp: &impl Fn(T, T) -> i32) {
    let mut scratch = Vec::with_capacity(order.len());
    merge_sort_with(order, &mut scratch, cmp);
}

fn merge_sort_with<T: Copy>(items: &mut [T], scratch: &mut Vec<T>, cmp: &impl Fn(T, T) -> i32) {
    let n = items.len();
    if n <= 1 {
        return;
    }
    let half = n / 2;
    merge_sort_with(&mut items[..half], scratch, cmp);
    merge_sort_with(&mut items[half..], scratch, cmp);
    scratch.clear();
    let (mut left, mut right) = (0, half);
    while left < half && right < n {
        if cmp(items[left], items[right]) <= 0 {
            scratch.push(items[left]);
            left += 1;
        } else {
            scratch.push(items[right]);
            right += 1;
        }
    }
    // What is left of the right half is already in place.
    scratch.extend_from_slice(&items[left..half]);
    items[..scratch.len()].copy_from_slice(scratch);
}

/// Redis's `pqsort(v, n, size, cmp, lrange, rrange)`: sorts so that places `lrange..=rrange` hold
/// what a full sort would put there (ties aside). `pqsort` tests parts against the range in byte
/// addresses; the element size cancels out of every one of its comparisons, so places do here.
pub fn partial_sort<T: Copy>(
    order: &mut [T],
    lrange: i64,
    rrange: i64,
    cmp: &impl Fn(T, T) -> i32,
) {
    quicksort(order, 0, order.len(), (lrange, rrange), cmp);
}

/// Whether the part `lo..lo + n` lies wholly before or wholly after the wanted places.
fn outside(lo: usize, n: usize, (left, right): (i64, i64)) -> bool {
    let first = lo as i64;
    let end = first + n as i64;
    (left < first && right < first) || (left >= end && right >= end)
}

fn median3<T: Copy>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(T, T) -> i32) -> usize {
    if cmp(v[a], v[b]) < 0 {
        if cmp(v[b], v[c]) < 0 {
            b
        } else if cmp(v[a], v[c]) < 0 {
            c
        } else {
            a
        }
    } else if cmp(v[b], v[c]) > 0 {
        b
    } else if cmp(v[a], v[c]) < 0 {
        a
    } else {
        c
    }
}

fn insertion_sort<T: Copy>(v: &mut [T], lo: usize, n: usize, cmp: &impl Fn(T, T) -> i32) {
    for m in lo + 1..lo + n {
        let mut at = m;
        while at > lo && cmp(v[at - 1], v[at]) > 0 {
            v.swap(at, at - 1);
            at -= 1;
        }
    }
}

fn swap_runs<T>(v: &mut [T], a: usize, b: usize, len: usize) {
    for k in 0..len {
        v.swap(a + k, b + k);
    }
}

/// Sorts `v[lo..lo + n]`, skipping parts wholly outside `range` (places, see `partial_sort`).
fn quicksort<T: Copy>(
    v: &mut [T],
    mut lo: usize,
    mut n: usize,
    range: (i64, i64),
    cmp: &impl Fn(T, T) -> i32,
) {
    loop {
        if n < 7 {
            insertion_sort(v, lo, n, cmp);
            return;
        }
        // The pivot: the middle item, the median of three for n > 7, of three medians for n > 40.
        let mut mid = lo + n / 2;
        if n > 7 {
            let mut first = lo;
            let mut last = lo + n - 1;
            if n > 40 {
                let d = n / 8;
                first = median3(v, first, first + d, first + 2 * d, cmp);
                mid = median3(v, mid - d, mid, mid + d, cmp);
                last = median3(v, last - 2 * d, last - d, last, cmp);
            }
            mid = median3(v, first, mid, last, cmp);
        }
        v.swap(lo, mid);
        // Partition in four: equal | less | greater | equal, the equal ones swapped to the ends.
        let (mut pa, mut pb) = (lo + 1, lo + 1);
        let (mut pc, mut pd) = (lo + n - 1, lo + n - 1);
        loop {
            while pb <= pc {
                let order = cmp(v[pb], v[lo]);
                if order > 0 {
                    break;
                }
                if order == 0 {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let order = cmp(v[pc], v[lo]);
                if order < 0 {
                    break;
                }
                if order == 0 {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        // Bring the equal runs to the middle.
        let end = lo + n;
        let r = (pa - lo).min(pb - pa);
        swap_runs(v, lo, pb - r, r);
        let r = (pd - pc).min(end - pd - 1);
        swap_runs(v, pb, end - r, r);
        // The two parts left: each sorted unless too short or wholly outside the range. They
        // share no item, so which goes first changes nothing: the smaller is recursed into and
        // the larger looped on, keeping the stack logarithmic whatever the input (Redis always
        // recurses into the left one).
        let less = (lo, pb - pa);
        let greater = (end - (pd - pc), pd - pc);
        let wanted = |(start, len): (usize, usize)| len > 1 && !outside(start, len, range);
        let (small, large) = if less.1 <= greater.1 {
            (less, greater)
        } else {
            (greater, less)
        };
        if wanted(small) {
            quicksort(v, small.0, small.1, range, cmp);
        }
        if !wanted(large) {
            return;
        }
        (lo, n) = large;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        *seed >> 33
    }

    fn compare(a: u64, b: u64) -> i32 {
        (a > b) as i32 - (a < b) as i32
    }

    #[test]
    fn merge_sort_is_stable() {
        let mut seed = 7;
        for len in [0usize, 1, 2, 7, 40, 41, 300] {
            let keys: Vec<u64> = (0..len).map(|_| lcg(&mut seed) % 5).collect();
            let mut order: Vec<usize> = (0..len).collect();
            merge_sort(&mut order, &|a, b| compare(keys[a], keys[b]));
            let mut expected: Vec<usize> = (0..len).collect();
            expected.sort_by_key(|&i| keys[i]);
            assert_eq!(order, expected);
        }
    }

    #[test]
    fn descending_is_the_negated_comparison() {
        let keys = [3, 1, 2, 1, 3, 0, 5, 4, 2];
        let mut order: Vec<usize> = (0..keys.len()).collect();
        merge_sort(&mut order, &|a, b| -compare(keys[a], keys[b]));
        assert_eq!(order, [6, 7, 0, 4, 2, 8, 1, 3, 5]);
    }

    #[test]
    fn partial_sort_places_the_wanted_range() {
        let mut seed = 11;
        for len in [1usize, 5, 7, 8, 40, 41, 100, 1000] {
            for (start, end) in [
                (0, 0),
                (0, 1),
                (0, 5),
                (3, 9),
                (0, len / 2),
                (len / 2, len - 1),
                (len - 1, len - 1),
            ] {
                if start > end || end >= len {
                    continue;
                }
                let keys: Vec<u64> = (0..len).map(|_| lcg(&mut seed) % 50).collect();
                let mut order: Vec<u32> = (0..len as u32).collect();
                partial_sort(&mut order, start as i64, end as i64, &|a, b| {
                    compare(keys[a as usize], keys[b as usize])
                });
                let got: Vec<u64> = order[start..=end]
                    .iter()
                    .map(|&i| keys[i as usize])
                    .collect();
                let mut sorted = keys.clone();
                sorted.sort_unstable();
                assert_eq!(got, sorted[start..=end], "len {len} range {start}..={end}");
                let mut all = order.clone();
                all.sort_unstable();
                assert_eq!(all, (0..len as u32).collect::<Vec<_>>());
            }
        }
    }

    /// The stack stays shallow on inputs that defeat the pivot choice (the sorted and
    /// organ-pipe orders are classic ones for median-of-three).
    #[test]
    fn partial_sort_of_long_ordered_inputs() {
        let len = 200_000u64;
        for keys in [
            (0..len).collect::<Vec<_>>(),
            (0..len).map(|i| len - i).collect(),
            (0..len).map(|i| i.min(len - i)).collect(),
        ] {
            let mut order: Vec<usize> = (0..len as usize).collect();
            partial_sort(&mut order, 0, len as i64 - 2, &|a, b| {
                compare(keys[a], keys[b])
            });
            assert!(order[..len as usize - 1]
                .windows(2)
                .all(|w| keys[w[0]] <= keys[w[1]]));
        }
    }
}
