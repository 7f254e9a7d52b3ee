//! What a revision record costs a warm render, as the controller renders (one long-lived `Renderer`, its workers
//! kept warm), for e2e/bench-record.sh: `cargo run --release -p jaas-render --example record_cost -- JAAS INPUT
//! RUNS`, JAAS being a built `jaas` (its `eval-worker` evaluates), INPUT a Jsonnet file or a directory with a
//! `main.jsonnet`. Two renderers, one plain and one recording inputs, render INPUT RUNS times each, back to back
//! (the order alternates); the recording one also builds the record, encodes it and writes it to a file, as
//! local storage would. Prints one Markdown row: the plain render's median, the median of the pairs' differences
//! with their quartiles, and its share.

use std::{
    path::Path,
    process::ExitCode,
    time::{Duration, Instant, SystemTime},
};

use jaas_render::{LimitArgs, RenderRequest, Renderer, WorkerCommand, plain_request, record::RevisionRecord};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [jaas, input, runs] = args.as_slice() else {
        eprintln!("usage: record_cost JAAS INPUT RUNS");
        return ExitCode::from(2);
    };
    let Ok(runs) = runs.parse::<usize>() else {
        eprintln!("error: RUNS must be a number, not {runs:?}");
        return ExitCode::from(2);
    };
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime");
    match runtime.block_on(measure(Path::new(jaas), Path::new(input), runs)) {
        Ok(row) => {
            println!("{row}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn measure(jaas: &Path, input: &Path, runs: usize) -> Result<String, String> {
    let request = plain_request(input, &[]).map_err(|error| error.to_string())?;
    let worker = WorkerCommand { program: jaas.to_path_buf(), args: vec!["eval-worker".to_owned()] };
    let limits = LimitArgs::default().limits();
    let plain = Renderer::new(limits, 1, worker.clone());
    let recording = Renderer::new(limits, 1, worker).recording_inputs();
    let scratch = tempfile::tempdir().map_err(|error| error.to_string())?;
    let record_file = scratch.path().join("record.zst");
    let (mut alone, mut recorded) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    let mut record_bytes = 0;
    // Two rounds each to warm the workers, uncounted.
    for run in 0..runs + 2 {
        let (plain_took, (recorded_took, bytes)) = if run % 2 == 0 {
            let plain_took = time_plain(&plain, &request).await?;
            (plain_took, time_recorded(&recording, &request, &record_file).await?)
        } else {
            let recorded = time_recorded(&recording, &request, &record_file).await?;
            (time_plain(&plain, &request).await?, recorded)
        };
        if run >= 2 {
            alone.push(plain_took);
            recorded.push(recorded_took);
        }
        record_bytes = bytes;
    }
    Ok(row(input, &alone, &recorded, record_bytes))
}

async fn time_plain(renderer: &Renderer, request: &RenderRequest) -> Result<Duration, String> {
    let started = Instant::now();
    renderer.render(request).await.map_err(|error| error.to_string())?;
    Ok(started.elapsed())
}

/// A recording render, its record built, encoded and written: how long, and the record's size.
async fn time_recorded(
    renderer: &Renderer,
    request: &RenderRequest,
    record_file: &Path,
) -> Result<(Duration, usize), String> {
    let (started_at, started) = (SystemTime::now(), Instant::now());
    let artifact = renderer.render(request).await.map_err(|error| error.to_string())?;
    let record = RevisionRecord::of(request, &artifact, renderer.limits(), started_at, started.elapsed())
        .map_err(|error| error.to_string())?;
    let bytes = record.encode().map_err(|error| error.to_string())?;
    std::fs::write(record_file, &bytes).map_err(|error| error.to_string())?;
    Ok((started.elapsed(), bytes.len()))
}

fn row(input: &Path, alone: &[Duration], recorded: &[Duration], record_bytes: usize) -> String {
    let millis = |duration: &Duration| duration.as_secs_f64() * 1000.0;
    let mut plain: Vec<f64> = alone.iter().map(millis).collect();
    plain.sort_by(f64::total_cmp);
    let mut differences: Vec<f64> =
        alone.iter().zip(recorded).map(|(alone, recorded)| millis(recorded) - millis(alone)).collect();
    differences.sort_by(f64::total_cmp);
    let median = |sorted: &[f64]| sorted[sorted.len() / 2];
    let (low, high) = (differences[differences.len() / 4], differences[differences.len() * 3 / 4]);
    let share = 100.0 * median(&differences) / median(&plain);
    format!(
        "| {} | {} | {record_bytes} | {:.1} | {:+.1} ({low:+.1} to {high:+.1}) | **{share:.1} %** ({}) |",
        input.display(),
        alone.len(),
        median(&plain),
        median(&differences),
        if share <= 5.0 { "met" } else { "NOT met" }
    )
}
