//! go-jsonnet fidelity: the std functions whose jrsonnet output differs from go-jsonnet (the reference
//! implementation most Jsonnet in the wild was written against) are replaced by ports of go-jsonnet's
//! behaviour, so a snippet renders to the same bytes here as with `jsonnet`/Tanka. docs/fidelity.md lists each
//! difference, and tests/differential.rs checks a corpus against go-jsonnet itself.

// `#[builtin]` functions receive their Jsonnet arguments by value, whether or not they consume them.
#![allow(clippy::needless_pass_by_value)]

mod escape;
mod go_math;
mod json;
mod math;
mod misc;
mod number;
mod parse_yaml;
mod parse_yaml_scalar;
mod sets;
mod tanka;
mod toml;
mod yaml;
mod yaml_key;
mod yaml_tabs;

pub(crate) use json::go_manifest_json;

use std::cell::RefCell;

use jrsonnet_evaluator::{
    ContextInitializer, IStr, InitialContextBuilder, ObjValue, ObjValueBuilder, Result, Source, Thunk, Val,
    function::{CallLocation, builtin},
};
use jrsonnet_gcmodule::{Cc, Trace};

/// Wraps jrsonnet's std initializer so that every file evaluated with the result sees the go-jsonnet-compatible
/// `std`; pass the result to `StateBuilder::context_initializer` in place of `stdlib`.
///
/// The wrapper keeps using `stdlib`'s settings (ext vars, native functions, trace printer, path resolver), so
/// ext vars added to `stdlib` after this call are still seen.
pub fn register(stdlib: jrsonnet_stdlib::ContextInitializer) -> GoCompatStd {
    tanka::register_natives(&stdlib);
    // std.format and `%` compute exponents, mantissas and rounding with std.log/std.pow, as std.jsonnet does: with
    // Go's, so that their last digits are go-jsonnet's (the carried jrsonnet-evaluator patch; set once per process).
    jrsonnet_evaluator::stdlib::format::set_format_math(jrsonnet_evaluator::stdlib::format::FormatMath {
        log: go_math::log,
        pow: go_math::pow,
    });
    GoCompatStd::new(stdlib)
}

/// A context initializer binding `std` to jrsonnet's standard library with go-jsonnet's behaviour layered over it.
#[derive(Trace, Clone)]
pub struct GoCompatStd {
    /// The jrsonnet initializer whose settings stay authoritative.
    stdlib: jrsonnet_stdlib::ContextInitializer,
    /// `std` without the per-file `thisFile`.
    std: ObjValue,
}

impl GoCompatStd {
    /// The jrsonnet initializer whose settings (external variables, native functions, trace printer) every
    /// evaluation with this `std` reads.
    pub const fn settings(&self) -> &jrsonnet_stdlib::ContextInitializer {
        &self.stdlib
    }

    /// Builds the overridden `std` once; [`ContextInitializer::populate`] only adds `thisFile` per file.
    pub fn new(stdlib: jrsonnet_stdlib::ContextInitializer) -> Self {
        // The base object's own extVar/native/trace would read this snapshot; they are overridden below with
        // versions that read `stdlib`'s live settings instead.
        let snapshot = Cc::new(RefCell::new(stdlib.settings().clone()));
        let mut std = ObjValueBuilder::new();
        std.with_super(jrsonnet_stdlib::stdlib_uncached(snapshot));
        std.method("manifestYamlDoc", yaml::builtin_go_manifest_yaml_doc {});
        std.method("manifestYamlStream", yaml::builtin_go_manifest_yaml_stream {});
        std.method("manifestJsonEx", json::builtin_go_manifest_json_ex {});
        std.method("manifestJson", json::builtin_go_manifest_json {});
        std.method("manifestJsonMinified", json::builtin_go_manifest_json_minified {});
        std.method("toString", json::builtin_go_to_string {});
        std.method("escapeStringJson", json::builtin_go_escape_string_json {});
        std.method("escapeStringPython", json::builtin_go_escape_string_json {});
        std.method("manifestTomlEx", toml::builtin_go_manifest_toml_ex {});
        std.method("manifestToml", toml::builtin_go_manifest_toml {});
        std.method("manifestXmlJsonml", misc::builtin_go_manifest_xml_jsonml {});
        std.method("base64", misc::builtin_go_base64 {});
        std.method("parseInt", misc::builtin_go_parse_int {});
        std.method("log2", math::builtin_go_log2 {});
        std.method("log10", math::builtin_go_log10 {});
        std.method("sin", math::builtin_go_sin {});
        std.method("cos", math::builtin_go_cos {});
        std.method("tan", math::builtin_go_tan {});
        std.method("asin", math::builtin_go_asin {});
        std.method("acos", math::builtin_go_acos {});
        std.method("atan", math::builtin_go_atan {});
        std.method("atan2", math::builtin_go_atan2 {});
        std.method("exp", math::builtin_go_exp {});
        std.method("log", math::builtin_go_log {});
        std.method("pow", math::builtin_go_pow {});
        std.method("hypot", math::builtin_go_hypot {});
        std.method("mantissa", math::builtin_go_mantissa {});
        std.method("exponent", math::builtin_go_exponent {});
        std.method("min", math::builtin_go_min {});
        std.method("max", math::builtin_go_max {});
        std.method("deg2rad", math::builtin_go_deg2rad {});
        std.method("rad2deg", math::builtin_go_rad2deg {});
        std.method("parseYaml", parse_yaml::builtin_go_parse_yaml {});
        std.method("setInter", sets::builtin_go_set_inter {});
        std.method("setUnion", sets::builtin_go_set_union {});
        std.method("setDiff", sets::builtin_go_set_diff {});
        std.method("setMember", sets::builtin_go_set_member {});
        std.method("extVar", builtin_live_ext_var { stdlib: stdlib.clone() });
        std.method("native", builtin_live_native { stdlib: stdlib.clone() });
        std.method("trace", builtin_live_trace { stdlib: stdlib.clone() });
        Self { stdlib, std: std.build() }
    }
}

impl ContextInitializer for GoCompatStd {
    fn populate(&self, source: Source, builder: &mut InitialContextBuilder) {
        let mut std = ObjValueBuilder::new();
        std.with_super(self.std.clone());
        let source_path = source.source_path();
        let this_file = source_path
            .path()
            .map_or_else(|| source_path.to_string(), |path| self.stdlib.settings().path_resolver.resolve(path));
        std.field("thisFile").hide().value(Val::string(this_file));
        builder.bind("std", Thunk::evaluated(Val::Obj(std.build())));
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// std.extVar reading the live settings of the jrsonnet initializer.
#[builtin(fields(stdlib: jrsonnet_stdlib::ContextInitializer))]
fn builtin_live_ext_var(this: &builtin_live_ext_var, x: IStr) -> Result<Val> {
    let value = this.stdlib.settings().ext_vars.get(&x).cloned();
    match value {
        Some(value) => value.evaluate_tailstrict(),
        None => Err(jrsonnet_evaluator::error::ErrorKind::UndefinedExternalVariable(x).into()),
    }
}

/// std.native reading the live settings of the jrsonnet initializer.
#[builtin(fields(stdlib: jrsonnet_stdlib::ContextInitializer))]
fn builtin_live_native(this: &builtin_live_native, x: IStr) -> Val {
    this.stdlib.settings().ext_natives.get(&x).cloned().map_or(Val::Null, Val::Func)
}

/// std.trace(str, rest) printing through the live trace printer of the jrsonnet initializer. As in go-jsonnet,
/// both parameters are required and the message must be a string (jrsonnet's own accepts anything).
#[builtin(fields(stdlib: jrsonnet_stdlib::ContextInitializer))]
fn builtin_live_trace(this: &builtin_live_trace, loc: CallLocation, str: IStr, rest: Thunk<Val>) -> Result<Val> {
    let printer = this.stdlib.settings().trace_printer.clone();
    printer.print_trace(loc, str);
    rest.evaluate()
}
