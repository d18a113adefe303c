//! The check pass: every line parsed and planned before anything is sent.

use std::path::Path;

use ticket_facade::TicketUpdater;

use super::input::for_each_line;
use crate::line::parse_line;

/// What one line is, after the check.
pub(super) enum Checked {
    Blank,
    Invalid(String),
    Valid,
}

fn check(updater: &dyn TicketUpdater, text: Result<&str, String>) -> Checked {
    let text = match text {
        Ok(t) => t,
        Err(e) => return Checked::Invalid(e),
    };
    if text.trim().is_empty() {
        return Checked::Blank;
    }
    match parse_line(text) {
        Err(e) => Checked::Invalid(e),
        Ok((id, update)) => match updater.preview(&id, &update) {
            Ok(_) => Checked::Valid,
            Err(e) => Checked::Invalid(e.to_string()),
        },
    }
}

/// Lines the check pass reads before it checks them, on several threads.
const CHECK_CHUNK: usize = 1024;

/// The check pass: every line parsed and planned (the provider's preview), on as many threads
/// as there are CPUs (at most 4), the results handed to `f` in line order. The file is read a
/// chunk at a time, so memory stays flat.
pub(super) fn check_lines(
    path: &Path,
    updater: &dyn TicketUpdater,
    mut f: impl FnMut(u64, &Result<String, String>, Checked),
) -> std::io::Result<()> {
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZeroUsize::get)
        .min(4);
    let check_one = |text: &Result<String, String>| match text {
        Ok(t) => check(updater, Ok(t)),
        Err(e) => check(updater, Err(e.clone())),
    };
    let mut run = |chunk: &mut Vec<(u64, Result<String, String>)>| {
        let results: Vec<Checked> = if threads < 2 || chunk.len() < 256 {
            chunk.iter().map(|(_, t)| check_one(t)).collect()
        } else {
            let per = chunk.len().div_ceil(threads);
            std::thread::scope(|scope| {
                let parts: Vec<_> = chunk
                    .chunks(per)
                    .map(|part| {
                        scope.spawn(move || {
                            part.iter()
                                .map(|(_, t)| check_one(t))
                                .collect::<Vec<Checked>>()
                        })
                    })
                    .collect();
                parts
                    .into_iter()
                    .flat_map(|h| {
                        h.join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                    })
                    .collect::<Vec<Checked>>()
            })
        };
        for ((n, text), checked) in chunk.drain(..).zip(results) {
            f(n, &text, checked);
        }
    };
    let mut chunk = Vec::with_capacity(CHECK_CHUNK);
    for_each_line(path, |n, text| {
        chunk.push((n, text.map(str::to_owned)));
        if chunk.len() == CHECK_CHUNK {
            run(&mut chunk);
        }
        true
    })?;
    run(&mut chunk);
    Ok(())
}
