//! The two sorts Redis orders search results with, reproduced for the order they leave ties in.
//!
//! Points at one distance are common (members added at the same coordinates), and a client sees
//! their order. Redis sorts all the results with the C library's `qsort`, which in glibc is a
//! stable top-down merge sort (glibc 2.36 here; 2.37-2.38 briefly used an introsort), and, when
//! COUNT keeps fewer than it found, with its own `pqsort`: Bentley and McIlroy's quicksort that
//! only descends into the parts holding the first COUNT places, which is not stable. Both are
//! written here from their algorithms and run on a permutation of indexes, with Redis's
//! three-way comparison of distances; that comparison is not a total order once a distance is NaN
//! (see `area::distance`), which is why no library sort can stand in for the merge sort either.

/// Redis's comparison of two distances: 1 when `a` is farther, 0 when equal, -1 otherwise
/// (NaN on either side included).
pub fn compare(a: f64, b: f64) -> i32 {
    if a > b {
        1
    } else if a == b {
        0
    } else {
        -1
    }
}

/// glibc's `qsort`: halves of `n / 2` and the rest, merged taking from the left unless it
/// compares above the right.
pub fn merge_sort(order: &mut [usize], cmp: &impl Fn(usize, usize) -> i32) {
    let mut scratch = Vec::with_capacity(order.len());
    merge_sort_with(order, &mut scratch, cmp);
}

fn merge_sort_with(
    items: &mut [usize],
    scratch: &mut Vec<usize>,
    cmp: &impl Fn(usize, usize) -> i32,
) {
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

/// Redis's `pqsort`: sorts `order` so that its first `keep` places hold what a full sort would put
/// there (their order among equal items aside); the rest is left partly sorted.
pub fn partial_quicksort(order: &mut [usize], keep: usize, cmp: &impl Fn(usize, usize) -> i32) {
    if keep > 0 {
        quicksort(order, 0, order.len(), keep, cmp);
    }
}

/// The median of three positions by `cmp`.
fn median3(v: &[usize], a: usize, b: usize, c: usize, cmp: &impl Fn(usize, usize) -> i32) -> usize {
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

fn swap_runs(v: &mut [usize], a: usize, b: usize, len: usize) {
    for k in 0..len {
        v.swap(a + k, b + k);
    }
}

/// Sorts `v[lo..lo + n]`, skipping parts that lie wholly at or after position `keep`.
fn quicksort(
    v: &mut [usize],
    mut lo: usize,
    mut n: usize,
    keep: usize,
    cmp: &impl Fn(usize, usize) -> i32,
) {
    loop {
        if n < 7 {
            for m in lo + 1..lo + n {
                let mut at = m;
                while at > lo && cmp(v[at - 1], v[at]) > 0 {
                    v.swap(at, at - 1);
                    at -= 1;
                }
            }
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
        // The two parts left to sort, each skipped when too short or wholly past `keep`. Which
        // one is sorted first makes no difference to the result (they share no item): the
        // smaller one is recursed into and the larger one looped on, so the stack stays
        // logarithmic whatever the input (Redis always recurses into the left part).
        let less = (lo, pb - pa);
        let greater = (end - (pd - pc), pd - pc);
        let wanted = |(start, len): (usize, usize)| len > 1 && start < keep;
        let (small, large) = if less.1 <= greater.1 {
            (less, greater)
        } else {
            (greater, less)
        };
        if wanted(small) {
            quicksort(v, small.0, small.1, keep, cmp);
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

    #[test]
    fn merge_sort_is_stable() {
        let mut seed = 7;
        for len in [0, 1, 2, 7, 40, 41, 300] {
            let keys: Vec<f64> = (0..len).map(|_| (lcg(&mut seed) % 5) as f64).collect();
            let mut order: Vec<usize> = (0..len).collect();
            merge_sort(&mut order, &|a, b| compare(keys[a], keys[b]));
            let mut expected: Vec<usize> = (0..len).collect();
            expected.sort_by(|&a, &b| keys[a].total_cmp(&keys[b]));
            assert_eq!(order, expected);
        }
    }

    #[test]
    fn partial_sort_places_the_first_items() {
        let mut seed = 11;
        for len in [1usize, 5, 7, 8, 40, 41, 100, 1000] {
            for keep in [1, 2, 6, 10, len / 2, len.saturating_sub(1)] {
                if keep == 0 || keep > len {
                    continue;
                }
                let keys: Vec<f64> = (0..len).map(|_| (lcg(&mut seed) % 50) as f64).collect();
                let mut order: Vec<usize> = (0..len).collect();
                partial_quicksort(&mut order, keep, &|a, b| compare(keys[a], keys[b]));
                let got: Vec<f64> = order[..keep].iter().map(|&i| keys[i]).collect();
                let mut sorted = keys.clone();
                sorted.sort_by(f64::total_cmp);
                assert_eq!(got, sorted[..keep], "len {len} keep {keep}");
                let mut all = order.clone();
                all.sort_unstable();
                assert_eq!(all, (0..len).collect::<Vec<_>>());
            }
        }
    }

    /// The stack stays shallow on inputs that defeat the pivot choice (the sorted and
    /// organ-pipe orders are classic ones for median-of-three).
    #[test]
    fn partial_sort_of_long_ordered_inputs() {
        let len = 200_000;
        for keys in [
            (0..len).map(|i| i as f64).collect::<Vec<_>>(),
            (0..len).map(|i| (len - i) as f64).collect(),
            (0..len).map(|i| i.min(len - i) as f64).collect(),
        ] {
            let mut order: Vec<usize> = (0..len).collect();
            partial_quicksort(&mut order, len - 1, &|a, b| compare(keys[a], keys[b]));
            assert!(order.windows(2).all(|w| keys[w[0]] <= keys[w[1]]));
        }
    }

    #[test]
    fn descending_is_the_negated_comparison() {
        let keys = [3.0, 1.0, 2.0, 1.0, 3.0, 0.0, 5.0, 4.0, 2.0];
        let mut order: Vec<usize> = (0..keys.len()).collect();
        merge_sort(&mut order, &|a, b| -compare(keys[a], keys[b]));
        assert_eq!(order, [6, 7, 0, 4, 2, 8, 1, 3, 5]);
    }
}
