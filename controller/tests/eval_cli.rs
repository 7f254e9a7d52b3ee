//! `jaas eval` as users run it, against go-jsonnet's `jsonnet` command run on the same command lines
//! (tests/eval_support): each flag, failures and their exit statuses, number and escape corner cases in every output
//! mode, every program of the differential corpus and the examples. Output is compared byte for byte: stdout, and
//! the files `-m` and `-o` write.

#![allow(clippy::unwrap_used)] // test code: a failed unwrap is a failed test

mod eval_support;
mod render_support;

use std::path::{Path, PathBuf};

use eval_support::{Case, differences, run_jaas};
use jaas_controller::crd::{JsonnetLibrary, JsonnetSnippet, SnippetVariable};

/// The differential corpus: one small Jsonnet program per file.
const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/differential/corpus");
/// Fewer programs than this means the corpus went missing, not that everything agrees.
const MIN_CORPUS: usize = 100;

/// Corpus programs whose output still differs from go-jsonnet's, each with the reason: the programs
/// tests/differential.rs lists, for the same reasons, and one whose values differ only in the sign of a zero, which
/// that test (numbers compared as doubles) cannot see. None differs in how a value is printed. They must keep
/// differing: one that starts to agree fails the test so that it leaves this list.
const KNOWN_CORPUS_DIFFERENCES: &[(&str, &str)] = &[(
    "string_escape_unpaired_surrogate.jsonnet",
    "go-jsonnet decodes an unpaired surrogate escape to U+FFFD, jrsonnet rejects it: see differential.rs",
)];

/// Asserts that no case differs from go-jsonnet, listing those that do.
fn assert_all_agree(cases: &[Case]) {
    let differing = differences(cases);
    let report: Vec<String> = differing.iter().map(|(name, why)| format!("--- {name}\n{why}")).collect();
    assert!(
        report.is_empty(),
        "{} of {} cases differ from go-jsonnet:\n{}",
        report.len(),
        cases.len(),
        report.join("\n")
    );
}

#[test]
fn inputs_search_paths_and_variables_do_what_they_do_in_go_jsonnet() {
    let two_libraries: &[(&str, &str)] =
        &[("a/lib.libsonnet", "'from a'"), ("b/lib.libsonnet", "'from b'"), ("main.jsonnet", "import 'lib.libsonnet'")];
    let function = "function(s, c) { s: s, c: c, ext: [std.extVar('es'), std.extVar('ec')] }";
    let variables: &[(&str, &str)] = &[("main.jsonnet", function)];
    // `--ext-str NAME` names the variable after the environment variable it reads.
    let by_environment: &[(&str, &str)] = &[(
        "main.jsonnet",
        "function(JAAS_S, JAAS_C) { s: JAAS_S, c: JAAS_C, ext: [std.extVar('JAAS_ES'), std.extVar('JAAS_EC')] }",
    )];
    let cases = [
        Case::new("a value as JSON", &[("main.jsonnet", "{ z: [1, { }], a: 'x', h:: 0 }")], &["main.jsonnet"]),
        Case::new("-J: the right-most wins", two_libraries, &["-J", "a", "-J", "b", "main.jsonnet"]),
        Case::new("-J: the right-most wins, reversed", two_libraries, &["-J", "b", "-J", "a", "main.jsonnet"]),
        Case::new(
            "--jpath outside the file's directory",
            &[
                ("app/main.jsonnet", "(import 'k.libsonnet') { app: true }"),
                ("shared/k.libsonnet", "{ k: importstr 'data.txt' }"),
                ("shared/data.txt", "shared\n"),
            ],
            &["--jpath", "shared", "app/main.jsonnet"],
        ),
        Case::new(
            "ext and tla variables, NAME=VALUE",
            variables,
            &[
                "--ext-str",
                "es=text",
                "--ext-code",
                "ec={ n: 1 + 1 }",
                "--tla-str",
                "s=a=b",
                "--tla-code",
                "c=[true]",
                "main.jsonnet",
            ],
        ),
        Case::new(
            "-V and -A, the short forms",
            variables,
            &["-V", "es=", "--ext-code", "ec=null", "-A", "s=x", "--tla-code", "c=1e3", "main.jsonnet"],
        ),
        Case::new(
            "variables from the environment",
            by_environment,
            &[
                "--ext-str",
                "JAAS_ES",
                "--ext-code",
                "JAAS_EC",
                "--tla-str",
                "JAAS_S",
                "--tla-code",
                "JAAS_C",
                "main.jsonnet",
            ],
        )
        .with_env("JAAS_ES", "from env")
        .with_env("JAAS_EC", "{ code: 'yes' }")
        .with_env("JAAS_S", "plain")
        .with_env("JAAS_C", "[1, 2]"),
        Case::new(
            "variables from the environment, short forms",
            by_environment,
            &["-V", "JAAS_ES", "--ext-code", "JAAS_EC=0", "-A", "JAAS_S", "--tla-code", "JAAS_C", "main.jsonnet"],
        )
        .with_env("JAAS_ES", "e")
        .with_env("JAAS_S", "s")
        .with_env("JAAS_C", "{ c: 3 }"),
        Case::new(
            "-e: code in the current directory",
            &[("lib/x.libsonnet", "{ x: importstr 'x.txt' }"), ("lib/x.txt", "x")],
            &["-e", "(import 'lib/x.libsonnet') + { file: std.thisFile }"],
        ),
        Case::new(
            "--exec with -J",
            &[("vendor/v.libsonnet", "'v'")],
            &["--exec", "import 'v.libsonnet'", "-J", "vendor"],
        ),
        Case::new("FILE -: code from stdin", &[("x.libsonnet", "{ x: 1 }")], &["-"])
            .with_stdin("(import 'x.libsonnet') + { file: std.thisFile }"),
    ];
    assert_all_agree(&cases);
}

#[test]
fn output_modes_and_files_are_written_as_go_jsonnet_writes_them() {
    let files = "{ 'a.json': { x: [1, 'two', { }] }, 'sub/b.txt': 'text', hidden:: 1 }";
    let cases = [
        Case::new(
            "-S: a string as it is",
            &[("main.jsonnet", "'line 1\\n\\ttab \"quoted\" \\u00e9\\u0001\\n'")],
            &["-S", "main.jsonnet"],
        ),
        Case::new("--string of an empty string", &[], &["--string", "-e", "''"]),
        Case::new(
            "-y: an array as a YAML stream",
            &[("main.jsonnet", "[1, 'two', { a: [] }, [], null]")],
            &["-y", "main.jsonnet"],
        ),
        Case::new("--yaml-stream of an empty array", &[], &["--yaml-stream", "-e", "[]"]),
        Case::new("-y with -S: documents stay JSON", &[], &["-y", "-S", "-e", "['a', 'b']"]),
        Case::new(
            "-m: one file per field",
            &[("main.jsonnet", files), ("out/.keep", "")],
            &["-m", "out", "main.jsonnet", "-c"],
        ),
        Case::new(
            "--multi DIR/ with -S",
            &[("out/.keep", "")],
            &["--multi", "out/", "-S", "-e", "{ 'a.txt': 'a', 'b.txt': '' }"],
        ),
        Case::new(
            "-m: an unchanged file is left alone",
            &[("out/same.json", "\"same\"\n")],
            &["-m", "out", "-e", "{ 'same.json': 'same' }"],
        ),
        Case::new(
            "-m with -o: the list goes to the file",
            &[("out/.keep", "")],
            &["-m", "out", "-o", "list.txt", "-e", "{ a: 1, b: 2 }"],
        ),
        Case::new("-m -c: missing directories are made", &[], &["-m", "new/dir", "-c", "-e", "{ 'x/y.json': 1 }"]),
        Case::new("-o: the output goes to a file", &[], &["-o", "value.json", "-e", "{ a: 1 }"]),
        Case::new("--output-file with -c", &[], &["--output-file", "deep/er/value.txt", "-c", "-S", "-e", "'text'"]),
        Case::new("-o with -y", &[], &["-o", "stream.yaml", "-y", "-e", "[{ a: 1 }]"]),
        Case::new("-m into a missing directory", &[], &["-m", "missing", "-e", "{ a: 1 }"]).failing(),
        Case::new("-o into a missing directory", &[], &["-o", "missing/value.json", "-e", "1"]).failing(),
    ];
    assert_all_agree(&cases);
}

#[test]
fn stack_limits_hold_where_go_jsonnet_s_do() {
    let cases = [
        Case::new("--max-stack: deep enough", &[], &["--max-stack", "1000", "-e", DEEP_RECURSION]),
        Case::new("-s: too shallow", &[], &["-s", "20", "-e", DEEP_RECURSION]).failing(),
        Case::new(
            "default stack limit: too deep",
            &[],
            &["-e", "local f(n) = if n == 0 then 0 else 1 + f(n - 1); f(5000)"],
        )
        .failing(),
    ];
    assert_all_agree(&cases);
}

/// Recursion 100 calls deep.
const DEEP_RECURSION: &str = "local f(n) = if n == 0 then 0 else 1 + f(n - 1); f(100)";

#[test]
fn failures_exit_1_as_in_go_jsonnet_and_name_file_and_line() {
    let cases = [
        ("a runtime error", "local x = 1;\n{ a: error 'boom' }", &[][..], "main.jsonnet:2:"),
        ("a syntax error", "{ a: }", &[], "main.jsonnet:1:"),
        ("an unknown variable", "{\n  a: nope,\n}", &[], "main.jsonnet:2:"),
        ("an import not found", "import 'missing.libsonnet'", &[], "missing.libsonnet"),
        ("an import out of the tree", "import '../outside.libsonnet'", &[], "outside.libsonnet"),
        ("-S of an object", "{ a: 1 }", &["-S"], "expected string result, got: object"),
        ("-y of an object", "{ a: 1 }", &["-y"], "stream mode: top-level object was a object"),
        ("-m of an array", "[1]", &["-m", "."], "multi mode: top-level object was a array"),
        ("-m -S of a number field", "{ a: 1 }", &["-m", ".", "-S"], "key a has a value of type number"),
        ("a function at the top without its argument", "function(x) x", &[], "x"),
        ("a function in the value", "{ f: function(x) x }", &[], "function"),
        ("an undefined external variable", "std.extVar('nope')", &[], "nope"),
    ];
    let go_cases: Vec<Case> = cases
        .iter()
        .map(|(name, code, flags, _)| {
            let mut args = flags.to_vec();
            args.push("main.jsonnet");
            Case::new(name, &[("main.jsonnet", code)], &args).failing()
        })
        .collect();
    assert_all_agree(&go_cases);
    for ((name, _, _, fragment), case) in cases.iter().zip(&go_cases) {
        let run = run_jaas(case);
        assert_eq!(run.code, Some(1), "{name}: {run:?}");
        assert!(run.stdout.is_empty(), "{name}: nothing is printed on failure: {run:?}");
        assert!(run.stderr.contains(fragment), "{name}: stderr {:?} lacks {fragment:?}", run.stderr);
    }
    let inline = run_jaas(&Case::new("-e", &[], &["-e", "{ a: 1 } + error 'inline'"]));
    assert!(inline.code == Some(1) && inline.stderr.contains("<cmdline>:1:"), "{inline:?}");
}

#[test]
fn bad_command_lines_exit_2() {
    let cases: &[(&str, &[&str], &str)] = &[
        ("no file and no code", &[], "FILE"),
        ("a file and code", &["main.jsonnet", "-e", "1"], "cannot be used with"),
        ("an unknown flag", &["--no-such-flag", "main.jsonnet"], "--no-such-flag"),
        ("-y with -m", &["-y", "-m", "out", "main.jsonnet"], "cannot be used with"),
        ("--max-stack 0", &["--max-stack", "0", "main.jsonnet"], "--max-stack"),
        (
            "an undefined environment variable",
            &["--ext-str", "JAAS_EVAL_UNSET_VARIABLE", "main.jsonnet"],
            "was undefined",
        ),
        ("an empty variable name", &["--tla-str", "=x", "main.jsonnet"], "name is empty"),
        ("a missing file", &["missing.jsonnet"], "missing.jsonnet"),
        ("a missing -J directory", &["-J", "nowhere", "main.jsonnet"], "nowhere"),
        ("a variable given twice", &["-V", "a=1", "--ext-code", "a=2", "main.jsonnet"], "given twice"),
        ("-m with an empty directory", &["-m", "", "main.jsonnet"], "-m"),
    ];
    for (name, args, fragment) in cases {
        let run = run_jaas(&Case::new(name, &[("main.jsonnet", "{}")], args));
        assert_eq!(run.code, Some(2), "{name}: {run:?}");
        assert!(run.stderr.contains(fragment), "{name}: stderr {:?} lacks {fragment:?}", run.stderr);
        assert!(run.stdout.is_empty() && run.written.is_empty(), "{name}: {run:?}");
    }
    let escaping = run_jaas(&Case::new("-m escaping", &[("out/.keep", "")], &["-m", "out", "-e", "{ '../x': 1 }"]));
    assert_eq!(escaping.code, Some(1), "{escaping:?}");
    assert!(escaping.stderr.contains("would leave out") && escaping.written.is_empty(), "{escaping:?}");
}

/// Numbers and strings whose spelling differs between JSON writers: go-jsonnet's `%.17g`, integers in full, `-0`,
/// its escapes, and key order by code point.
const CORNER_CASES: &[&str] = &[
    "0.1",
    "1/3",
    "-2.5",
    "1e21",
    "1e-7",
    "1e-5",
    "0.0001",
    "123456789.5",
    "-0",
    "0",
    "9007199254740993",
    "123456789012345678901234567890",
    "1e308",
    "1.7976931348623157e308",
    "5e-324",
    "2.2250738585072014e-308",
    "1e100",
    "std.pow(2, 64)",
    "-1e22",
    "1.5e-300",
    "std.exp(1)",
    "100",
    "3.0",
    "'\\u0000\\u0001\\u001f\\u007f\\u0080\\u009f\\u00a0'",
    "'\\b\\f\\n\\r\\t\"\\\\/'",
    "'\\u2028\\u2029 é 😀'",
    "{ 'é': 1, 'z': 2, 'A': 3, '😀': 4, '\\u00ff': 5, '': 6 }",
    "[[], {}, [[]], { a: {} }]",
    "true",
    "null",
];

#[test]
fn numbers_and_escapes_match_go_jsonnet_bytes_in_every_mode() {
    let mut cases = Vec::new();
    for (index, value) in CORNER_CASES.iter().enumerate() {
        let file = format!("{{ value: {value} }}");
        let as_file = |name: &str, args: &[&str], code: &str| {
            let mut case = Case::new(&format!("{name} of {value}"), &[("out/.keep", "")], args);
            case.files.push(("main.jsonnet".to_owned(), code.to_owned()));
            case.args.push("main.jsonnet".to_owned());
            case
        };
        cases.push(as_file("JSON", &[], &file));
        cases.push(as_file("-y", &["-y"], &format!("[{value}, {file}]")));
        cases.push(as_file("-m", &["-m", "out"], &format!("{{ ['f%d' % {index}]: {value}, g: {file} }}")));
        cases.push(as_file("-S of std.toString", &["-S"], &format!("std.toString({file})")));
        cases.push(as_file(
            "-m -S of std.manifestJson",
            &["-m", "out", "-S"],
            &format!("{{ a: std.manifestJson({file}) }}"),
        ));
    }
    assert_all_agree(&cases);
}

fn corpus_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(CORPUS)
        .unwrap_or_else(|e| panic!("cannot read the corpus {CORPUS}: {e}"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "jsonnet"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_program_prints_what_go_jsonnet_prints() {
    let files = corpus_files();
    assert!(files.len() >= MIN_CORPUS, "expected at least {MIN_CORPUS} programs in {CORPUS}, found {}", files.len());
    let name_of = |file: &Path| file.file_name().unwrap().to_string_lossy().into_owned();
    let cases: Vec<Case> = files
        .iter()
        .map(|file| Case { fails: None, ..Case::new(&name_of(file), &[], &[file.to_str().unwrap()]) })
        .collect();
    let differing = differences(&cases);
    let mut unexpected: Vec<String> = differing
        .iter()
        .filter(|(name, _)| !KNOWN_CORPUS_DIFFERENCES.iter().any(|(known, _)| known == name))
        .map(|(name, why)| format!("--- {name}\n{why}"))
        .collect();
    for (known, _) in KNOWN_CORPUS_DIFFERENCES {
        assert!(
            files.iter().any(|file| file.ends_with(known)),
            "KNOWN_CORPUS_DIFFERENCES names {known}, not in the corpus"
        );
        if !differing.iter().any(|(name, _)| name == known) {
            unexpected.push(format!(
                "--- {known} now prints what go-jsonnet prints: remove it from KNOWN_CORPUS_DIFFERENCES"
            ));
        }
    }
    println!(
        "eval corpus: {}/{} programs print go-jsonnet's bytes, {} known differences",
        files.len() - differing.len(),
        files.len(),
        KNOWN_CORPUS_DIFFERENCES.len()
    );
    assert!(unexpected.is_empty(), "{} corpus programs are wrong:\n{}", unexpected.len(), unexpected.join("\n"));
}

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A JsonnetSnippet example (with its JsonnetLibrary file, if any) as a `jsonnet` command line: the snippet's
/// files at the root of the working directory, each library's under `<name>/` and on the search path (the first
/// listed searched first, so given right-most), its variables as flags, then `extra` flags.
fn snippet_case(snippet: &str, library: Option<&str>, extra: &[&str]) -> Case {
    let read = |path: &str| std::fs::read_to_string(repository().join(path)).unwrap();
    let snippet_spec = serde_saphyr::from_str::<JsonnetSnippet>(&read(snippet)).unwrap().spec;
    let libraries: Vec<JsonnetLibrary> =
        library.map(|path| serde_saphyr::from_str_multiple(&read(path)).unwrap()).unwrap_or_default();
    let mut case = Case::new(&format!("{snippet} {}", extra.join(" ")), &[], &[]);
    case.files.extend(snippet_spec.files.clone());
    for name in snippet_spec.libraries.iter().rev() {
        let library = libraries.iter().find(|library| library.metadata.name.as_ref() == Some(name)).unwrap();
        case.files.extend(library.spec.files.iter().map(|(path, text)| (format!("{name}/{path}"), text.clone())));
        case.args.extend(["-J".to_owned(), name.clone()]);
    }
    let flags = |variables: &[SnippetVariable], string: &str, code: &str| -> Vec<String> {
        variables
            .iter()
            .flat_map(|v| [if v.code { code } else { string }.to_owned(), format!("{}={}", v.name, v.value)])
            .collect()
    };
    case.args.extend(flags(&snippet_spec.external_variables, "--ext-str", "--ext-code"));
    case.args.extend(flags(&snippet_spec.tlas, "--tla-str", "--tla-code"));
    case.args.extend(extra.iter().map(|flag| (*flag).to_owned()));
    case.args.push(snippet_spec.entry_file.clone());
    case
}

#[test]
fn the_examples_print_what_go_jsonnet_prints() {
    let plain = repository().join("examples/plain/main.jsonnet").to_string_lossy().into_owned();
    let plain_args = ["--ext-str", "env=dev", "--tla-code", "shards=2"];
    let mut plain_case = Case::new("examples/plain", &[], &plain_args);
    plain_case.args.push(plain);
    let cases = vec![
        plain_case,
        snippet_case("examples/app/snippet.yaml", None, &[]),
        snippet_case("examples/app/snippet.yaml", None, &["-y"]),
        snippet_case("examples/mixin/snippet.yaml", Some("examples/mixin/library.yaml"), &[]),
        snippet_case("examples/mixin/snippet.yaml", Some("examples/mixin/library.yaml"), &["-m", ".", "-c"]),
    ];
    // flux-source/ reads its Jsonnet from Git trees that are not in the repository; serve/ is checked below.
    let covered = ["plain", "app", "mixin", "flux-source", "serve"];
    for entry in std::fs::read_dir(repository().join("examples")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert!(!entry.path().is_dir() || covered.contains(&name.as_str()), "examples/{name} is not evaluated here");
    }
    for case in &cases {
        let run = run_jaas(case);
        let manifests =
            run.stdout.contains("apiVersion") || run.written.values().any(|file| file.contains("apiVersion"));
        assert!(run.code == Some(0) && manifests, "{} must evaluate to manifests: {run:?}", case.name);
    }
    assert_all_agree(&cases);

    // The `jaas serve` example: a value, not manifests, with a library from a -J directory.
    let libraries = repository().join("examples/serve/libraries").to_string_lossy().into_owned();
    let greeting = repository().join("examples/serve/snippets/greeting/main.jsonnet").to_string_lossy().into_owned();
    let serve_args = ["-J", &libraries, "--tla-str", "name=Ada", "--tla-code", "tag=['a', 'b']", &greeting];
    let serve_case = Case::new("examples/serve", &[], &serve_args);
    let run = run_jaas(&serve_case);
    assert!(run.code == Some(0) && run.stdout.contains("Hello, Ada!"), "{run:?}");
    assert_all_agree(&[serve_case]);
}
