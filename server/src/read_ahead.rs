//! Reading on one thread while the calling thread consumes what was read,
//! so neither waits on the other, like the two ends of a shell pipe. A few
//! fixed buffers circulate between them, so memory stays flat whatever the
//! input's size. Blocking code: call it from `spawn_blocking`.

use std::{
    io::{self, Read},
    ops::ControlFlow,
    sync::{
        atomic::{AtomicBool, Ordering},
        mpsc,
    },
};

/// How the reader's buffers are cut.
#[derive(Clone, Copy, Debug)]
pub struct Buffers {
    /// Bytes per buffer.
    pub size: usize,
    /// Buffers filled ahead of the consumer.
    pub in_flight: usize,
}

/// Opens the reader with `open` on a thread of its own, which fills buffers
/// until the input ends, `cancel` is raised or `consume` breaks; `consume`
/// gets each buffer's bytes, in order, on the calling thread. Returns what
/// the reading side ended with: the error of `open` or of a read, else
/// `Ok` (also on cancel or break: the caller knows which it was).
pub fn read_ahead<R: Read>(
    open: impl FnOnce() -> io::Result<R> + Send,
    buffers: Buffers,
    cancel: &AtomicBool,
    mut consume: impl FnMut(&[u8]) -> ControlFlow<()>,
) -> io::Result<()> {
    let (full_tx, full_rx) = mpsc::sync_channel::<(Vec<u8>, usize)>(buffers.in_flight);
    let (empty_tx, empty_rx) = mpsc::sync_channel::<Vec<u8>>(buffers.in_flight + 1);
    for _ in 0..buffers.in_flight + 1 {
        // Cannot fail: the receiver is alive and the channel has room.
        let _ = empty_tx.send(vec![0u8; buffers.size]);
    }
    std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> io::Result<()> {
            let mut reader = open()?;
            while let Ok(mut buffer) = empty_rx.recv() {
                if cancel.load(Ordering::Relaxed) {
                    return Ok(());
                }
                let filled = fill(&mut reader, &mut buffer)?;
                if filled == 0 || full_tx.send((buffer, filled)).is_err() {
                    return Ok(());
                }
            }
            Ok(())
        });
        while let Ok((buffer, filled)) = full_rx.recv() {
            if consume(&buffer[..filled]).is_break() {
                break;
            }
            // The reader may have stopped already; then the loop ends.
            let _ = empty_tx.send(buffer);
        }
        // Unblocks a reader waiting for a buffer or for room.
        drop(full_rx);
        drop(empty_tx);
        reader
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("the reading thread panicked")))
    })
}

/// Reads until `buffer` is full or the input ends; returns the bytes read.
fn fill(reader: &mut impl Read, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Buffers = Buffers {
        size: 1000,
        in_flight: 2,
    };

    fn collect(input: &[u8], stop_after: Option<usize>) -> (io::Result<()>, Vec<u8>) {
        let mut out = Vec::new();
        let cancel = AtomicBool::new(false);
        let result = read_ahead(
            || Ok(input),
            SMALL,
            &cancel,
            |data| {
                out.extend_from_slice(data);
                match stop_after {
                    Some(limit) if out.len() >= limit => ControlFlow::Break(()),
                    _ => ControlFlow::Continue(()),
                }
            },
        );
        (result, out)
    }

    #[test]
    fn every_byte_arrives_once_in_order() {
        let input: Vec<u8> = (0..12_345).map(|i| (i * 7 % 251) as u8).collect();
        let (result, out) = collect(&input, None);
        result.unwrap();
        assert_eq!(out, input);
    }

    #[test]
    fn a_break_stops_the_reader_without_a_hang() {
        let input = vec![1u8; 1_000_000];
        let (result, out) = collect(&input, Some(2500));
        result.unwrap();
        assert_eq!(out.len(), 3000, "whole buffers up to the break");
    }

    #[test]
    fn the_open_error_and_a_read_error_are_returned() {
        let cancel = AtomicBool::new(false);
        let failed = read_ahead(
            || Err::<&[u8], _>(io::Error::other("no such input")),
            SMALL,
            &cancel,
            |_| ControlFlow::Continue(()),
        );
        assert_eq!(failed.unwrap_err().to_string(), "no such input");

        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk error"))
            }
        }
        let failed = read_ahead(|| Ok(Broken), SMALL, &cancel, |_| ControlFlow::Continue(()));
        assert_eq!(failed.unwrap_err().to_string(), "disk error");
    }

    #[test]
    fn a_raised_cancel_reads_nothing_more() {
        let cancel = AtomicBool::new(true);
        let mut seen = 0;
        read_ahead(
            || Ok(&[0u8; 10_000][..]),
            SMALL,
            &cancel,
            |data| {
                seen += data.len();
                ControlFlow::Continue(())
            },
        )
        .unwrap();
        assert_eq!(seen, 0);
    }
}
