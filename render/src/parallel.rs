//! Splitting CPU-bound shaping work (YAML encoding, gzip) across the cores: contiguous batches, one scoped thread
//! each, results in input order, so the output never depends on how many threads did the work.

/// Runs `work` on contiguous batches of `items` (one batch per core at most, at least `min_per_batch` items per
/// batch) and returns each batch's result in order; `Err` for a batch whose thread panicked. `work` gets the index
/// of the batch's first item. A single batch runs on the calling thread.
pub fn per_batch_on_all_cores<T: Sync, R: Send>(
    items: &[T],
    min_per_batch: usize,
    work: impl Fn(usize, &[T]) -> R + Sync,
) -> Vec<std::thread::Result<R>> {
    let cores = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let batches = cores.min(items.len() / min_per_batch.max(1)).max(1);
    if batches == 1 {
        return vec![Ok(work(0, items))];
    }
    let per_batch = items.len().div_ceil(batches);
    let work = &work;
    std::thread::scope(|scope| {
        let threads: Vec<_> = items
            .chunks(per_batch)
            .enumerate()
            .map(|(batch, slice)| scope.spawn(move || work(batch * per_batch, slice)))
            .collect();
        threads.into_iter().map(std::thread::ScopedJoinHandle::join).collect()
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn batches_cover_every_item_once_in_order_with_their_offsets() {
        let items: Vec<usize> = (0..1001).collect();
        let batches = per_batch_on_all_cores(&items, 10, |first, slice| {
            assert_eq!(slice[0], first);
            slice.to_vec()
        });
        let joined: Vec<usize> = batches.into_iter().flat_map(Result::unwrap).collect();
        assert_eq!(joined, items);
    }

    #[test]
    fn too_few_items_for_a_second_batch_stay_on_one_thread() {
        let caller = std::thread::current().id();
        let batches = per_batch_on_all_cores(&[1, 2, 3], 64, |_, _| std::thread::current().id());
        assert_eq!(batches.len(), 1);
        assert_eq!(*batches[0].as_ref().unwrap(), caller);
    }
}
