//! `jaas eval`: evaluates a Jsonnet file (or `-e CODE`) and writes the value exactly as the `jsonnet` command
//! (go-jsonnet) does, with its flags: JSON by default, `-S` a string, `-y` a YAML stream, `-m DIR` one file per
//! field. The evaluator, std and import sandbox are rendering's ([`EvalRequest`]); the evaluation runs in this
//! process, on a thread with a large stack.

use std::{
    borrow::Cow,
    io::{Read, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use clap::{builder::NonEmptyStringValueParser, value_parser};
use jaas_render::{Cleanup, EvalFormat, EvalOutput, EvalRequest, RenderError, Variable, plain_request, tree_request};

/// What `jaas eval --help` adds below the flags.
const AFTER_HELP: &str = "\
The file's directory is its import tree: imports reach files there and in the -J directories, nothing else.
-e CODE (or FILE `-`, the code on stdin) is evaluated as a file in the current directory.

Exit status: 0 evaluated and written; 1 evaluation failed or the output could not be written; 2 bad flags or an
input, -J directory or variable that cannot be used.";

/// The name inline code goes by (`std.thisFile`, error locations), as in go-jsonnet.
const CODE_NAME: &str = "<cmdline>";
/// The name code read from stdin goes by, as in go-jsonnet.
const STDIN_NAME: &str = "<stdin>";

/// Arguments of `jaas eval`, named as the `jsonnet` command names them.
#[derive(Debug, clap::Args)]
#[command(after_long_help = AFTER_HELP)]
pub struct EvalArgs {
    /// The Jsonnet file to evaluate (`-` reads the code from stdin).
    #[arg(value_name = "FILE", required_unless_present = "exec", conflicts_with = "exec")]
    file: Option<PathBuf>,
    /// Evaluate CODE instead of a file.
    #[arg(short = 'e', long = "exec", value_name = "CODE")]
    exec: Option<String>,
    /// A directory searched by imports (repeatable; the right-most wins).
    #[arg(short = 'J', long = "jpath", value_name = "DIR")]
    jpaths: Vec<PathBuf>,
    /// External variable as a string; `NAME` alone reads the environment variable NAME.
    #[arg(short = 'V', long, value_name = "NAME[=VALUE]", value_parser = parse_variable)]
    ext_str: Vec<(String, String)>,
    /// External variable as Jsonnet code; `NAME` alone reads the environment variable NAME.
    #[arg(long, value_name = "NAME[=CODE]", value_parser = parse_variable)]
    ext_code: Vec<(String, String)>,
    /// Top-level argument as a string; `NAME` alone reads the environment variable NAME.
    #[arg(short = 'A', long, value_name = "NAME[=VALUE]", value_parser = parse_variable)]
    tla_str: Vec<(String, String)>,
    /// Top-level argument as Jsonnet code; `NAME` alone reads the environment variable NAME.
    #[arg(long, value_name = "NAME[=CODE]", value_parser = parse_variable)]
    tla_code: Vec<(String, String)>,
    /// Expect a string and write it as it is (with -m: each file's value).
    #[arg(short = 'S', long = "string")]
    string: bool,
    /// Expect an array and write it as a YAML stream of JSON documents.
    #[arg(short = 'y', long = "yaml-stream", conflicts_with = "multi")]
    yaml_stream: bool,
    /// Expect an object and write each field to the file DIR/<field name>, listing the files.
    #[arg(short = 'm', long = "multi", value_name = "DIR", value_parser = NonEmptyStringValueParser::new())]
    multi: Option<String>,
    /// Create missing parent directories of the files written.
    #[arg(short = 'c', long = "create-output-dirs")]
    create_output_dirs: bool,
    /// Write the output (with -m: the list of files) to FILE instead of stdout.
    #[arg(short = 'o', long = "output-file", value_name = "FILE")]
    output_file: Option<PathBuf>,
    /// Maximum Jsonnet stack depth; deeper recursion fails.
    #[arg(short = 's', long, value_name = "N", default_value_t = 500, value_parser = value_parser!(u32).range(1..))]
    max_stack: u32,
}

/// `NAME=VALUE`, or `NAME` alone for the value of the environment variable NAME, as `jsonnet --ext-str` reads them.
fn parse_variable(text: &str) -> Result<(String, String), String> {
    let (name, value) = match text.split_once('=') {
        Some((name, value)) => (name, value.to_owned()),
        None => (text, std::env::var(text).map_err(|_| format!("environment variable {text} was undefined"))?),
    };
    if name.is_empty() {
        return Err("the variable name is empty".to_owned());
    }
    Ok((name.to_owned(), value))
}

/// Runs `jaas eval`.
pub fn run(args: &EvalArgs) -> ExitCode {
    let request = match eval_request(args) {
        Ok(request) => request,
        Err(error) => return fail(&error),
    };
    // The process ends right after the output is written: freeing the evaluator's heap would only delay that.
    let output = match request.evaluate_on_large_stack(Cleanup::LeaveToProcessExit) {
        Ok(output) => output,
        Err(error) => return fail(&error),
    };
    match write_output(args, &output) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The evaluation the flags ask for: the file's tree (or the current directory's, for code), the -J directories,
/// the variables and the output format.
fn eval_request(args: &EvalArgs) -> Result<EvalRequest, RenderError> {
    let (mut tree, code) = match (&args.exec, &args.file) {
        (Some(code), _) => (tree_in_current_directory(CODE_NAME, &args.jpaths)?, Some(code.clone())),
        (None, Some(file)) if file.as_os_str() == "-" => {
            (tree_in_current_directory(STDIN_NAME, &args.jpaths)?, Some(read_stdin()?))
        }
        (None, Some(file)) => (plain_request(file, &args.jpaths)?, None),
        (None, None) => return Err(RenderError::InvalidSpec("give a FILE or -e CODE".to_owned())),
    };
    tree.ext_vars = variables(&args.ext_str, false).chain(variables(&args.ext_code, true)).collect();
    tree.tlas = variables(&args.tla_str, false).chain(variables(&args.tla_code, true)).collect();
    let format = match (args.multi.is_some(), args.yaml_stream, args.string) {
        (true, _, strings) => EvalFormat::Files { strings },
        // As in go-jsonnet, a stream's documents are JSON even with -S.
        (false, true, _) => EvalFormat::YamlStream,
        (false, false, true) => EvalFormat::String,
        (false, false, false) => EvalFormat::Json,
    };
    Ok(EvalRequest { tree, code, format, max_stack: args.max_stack as usize })
}

/// The tree of the current directory, with code going by `name` at its root.
fn tree_in_current_directory(name: &str, jpaths: &[PathBuf]) -> Result<jaas_render::RenderRequest, RenderError> {
    let directory = std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .map_err(|error| RenderError::InvalidSpec(format!("cannot read the current directory: {error}")))?;
    tree_request(directory, name.to_owned(), jpaths)
}

fn read_stdin() -> Result<String, RenderError> {
    let mut code = String::new();
    std::io::stdin()
        .read_to_string(&mut code)
        .map_err(|error| RenderError::InvalidSpec(format!("cannot read the code from stdin: {error}")))?;
    Ok(code)
}

fn variables(pairs: &[(String, String)], code: bool) -> impl Iterator<Item = Variable> + '_ {
    pairs.iter().map(move |(name, value)| Variable { name: name.clone(), value: value.clone(), code })
}

/// Writes what go-jsonnet's `jsonnet` writes: the text to stdout or `-o`; with `-m`, each file (left alone when it
/// already holds the same bytes) and the list of their paths.
fn write_output(args: &EvalArgs, output: &EvalOutput) -> Result<(), String> {
    let text = match (output, &args.multi) {
        (EvalOutput::Text(text), _) => Cow::Borrowed(text.as_str()),
        (EvalOutput::Files(files), Some(directory)) => {
            let mut listing = String::new();
            for (name, contents) in files {
                let path = multi_file_path(directory, name)?;
                write_file_if_changed(Path::new(&path), contents, args.create_output_dirs)?;
                listing.push_str(&path);
                listing.push('\n');
            }
            Cow::Owned(listing)
        }
        (EvalOutput::Files(_), None) => return Err("files were evaluated without -m DIR".to_owned()),
    };
    match &args.output_file {
        Some(path) => write_file(path, &text, args.create_output_dirs),
        None => write_stdout(&text),
    }
}

fn write_stdout(text: &str) -> Result<(), String> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).map_err(|error| format!("stdout: {error}"))
}

/// Where `-m DIR` writes the file `name`: `DIR/name`, spelt as go-jsonnet lists it. A name whose `..` would leave
/// DIR is refused (go-jsonnet writes it wherever it leads).
fn multi_file_path(directory: &str, name: &str) -> Result<String, String> {
    if name.split('/').any(|segment| segment == "..") || name.contains('\0') {
        return Err(format!("multi mode: the file name {name:?} would leave {directory}"));
    }
    let separator = if directory.ends_with('/') { "" } else { "/" };
    Ok(format!("{directory}{separator}{name}"))
}

fn write_file_if_changed(path: &Path, contents: &str, create_dirs: bool) -> Result<(), String> {
    // Keeping the timestamp of an unchanged file spares tools such as make needless work, as go-jsonnet does.
    if std::fs::read(path).is_ok_and(|existing| existing == contents.as_bytes()) {
        return Ok(());
    }
    write_file(path, contents, create_dirs)
}

fn write_file(path: &Path, contents: &str, create_dirs: bool) -> Result<(), String> {
    if create_dirs && let Some(parent) = path.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|error| format!("cannot create {}: {error}", parent.display()))?;
    }
    std::fs::write(path, contents).map_err(|error| format!("cannot write {}: {error}", path.display()))
}

/// Reports a failed evaluation: exit status 2 when the command line names something that cannot be used, else 1.
fn fail(error: &RenderError) -> ExitCode {
    eprintln!("error: {error}");
    if let RenderError::InvalidSpec(_) = error { ExitCode::from(2) } else { ExitCode::FAILURE }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multi_file_paths_are_listed_as_go_jsonnet_lists_them() {
        let cases = [
            ("out", "a.json", Ok("out/a.json")),
            ("out/", "a.json", Ok("out/a.json")),
            ("/tmp/x", "sub/b.yaml", Ok("/tmp/x/sub/b.yaml")),
            ("out", "../escape", Err("would leave out")),
            ("out", "a/../../b", Err("would leave out")),
        ];
        for (directory, name, want) in cases {
            let got = multi_file_path(directory, name);
            match (&got, want) {
                (Ok(path), Ok(expected)) => assert_eq!(path, expected),
                (Err(message), Err(fragment)) => assert!(message.contains(fragment), "{message}"),
                _ => panic!("{directory} {name}: got {got:?}, expected {want:?}"),
            }
        }
    }

    #[test]
    fn variables_take_a_value_or_the_environment() {
        assert_eq!(parse_variable("a=b=c"), Ok(("a".to_owned(), "b=c".to_owned())));
        assert_eq!(parse_variable("a="), Ok(("a".to_owned(), String::new())));
        assert_eq!(parse_variable("PATH").map(|(name, _)| name), Ok("PATH".to_owned()));
        assert!(parse_variable("JAAS_EVAL_SURELY_UNSET_VARIABLE").is_err_and(|e| e.contains("was undefined")));
        assert!(parse_variable("=x").is_err());
    }
}
