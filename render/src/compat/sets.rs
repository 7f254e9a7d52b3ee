//! std.setInter, std.setUnion, std.setDiff and std.setMember as std.jsonnet defines them, which go-jsonnet and C++
//! jsonnet both run: `a` and `b` may be any indexable value, a string standing for its characters, and a rest of a
//! string left over at the end is appended with Jsonnet's `+` (`std.setDiff('abc', ['b'])` is `'["a"]c'` in both).
//! jrsonnet's own require arrays, so `std.setInter(self.option, options)` with a string option (google/jsonnet's
//! test_suite/invariant_manifest.jsonnet) failed here.

use jrsonnet_evaluator::{
    Result, Val, bail,
    function::{NativeFn, builtin},
    val::equals,
};

use super::json::go_to_string;

/// A `keyF` argument: a function of one value.
type KeyFn = NativeFn<(Val, Val)>;

/// A set argument: an array, or a string as the array of its characters.
enum Items {
    Array(Vec<Val>),
    Chars(Vec<char>),
}

impl Items {
    fn new(value: Val, function: &str) -> Result<Self> {
        match value {
            Val::Arr(array) => Ok(Self::Array(array.iter().collect::<Result<Vec<_>>>()?)),
            Val::Str(string) => Ok(Self::Chars(string.into_flat().chars().collect())),
            other => bail!("std.{function}: expected an array or a string, got {}", other.value_type()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Array(items) => items.len(),
            Self::Chars(chars) => chars.len(),
        }
    }

    /// `x[i]`, for `i` below [`Self::len`].
    fn at(&self, i: usize) -> Val {
        match self {
            Self::Array(items) => items[i].clone(),
            Self::Chars(chars) => Val::string(chars[i].to_string()),
        }
    }

    /// `acc + x[i:]`, with Jsonnet's `+`: an array is appended, a string is appended to `acc` as a string.
    fn appended_to(&self, mut acc: Vec<Val>, i: usize) -> Result<Val> {
        match self {
            Self::Array(items) => {
                acc.extend_from_slice(&items[i..]);
                Ok(Val::arr(acc))
            }
            Self::Chars(chars) => {
                let rest: String = chars[i..].iter().collect();
                Ok(Val::string(go_to_string(&Val::arr(acc))? + &rest))
            }
        }
    }
}

/// The key of `value`: `keyF(value)`, or the value itself.
fn key(key_f: Option<&KeyFn>, value: Val) -> Result<Val> {
    key_f.map_or(Ok(value.clone()), |f| f.call(value))
}

/// How the keys of `a[i]` and `b[j]` compare, as std.jsonnet asks: `==` first, then `<`.
fn compare(a: &Val, b: &Val) -> Result<std::cmp::Ordering> {
    if equals(a, b)? {
        return Ok(std::cmp::Ordering::Equal);
    }
    Val::try_cmp(a, b)
}

/// std.setInter(a, b, keyF=id): the elements of `a` whose key is also in `b`.
#[builtin]
#[allow(non_snake_case)]
pub fn builtin_go_set_inter(a: Val, b: Val, keyF: Option<KeyFn>) -> Result<Val> {
    let (a, b) = (Items::new(a, "setInter")?, Items::new(b, "setInter")?);
    let (mut i, mut j, mut acc) = (0, 0, Vec::new());
    while i < a.len() && j < b.len() {
        match compare(&key(keyF.as_ref(), a.at(i))?, &key(keyF.as_ref(), b.at(j))?)? {
            std::cmp::Ordering::Equal => {
                acc.push(a.at(i));
                (i, j) = (i + 1, j + 1);
            }
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    Ok(Val::arr(acc))
}

/// std.setUnion(a, b, keyF=id): both sets merged; of two elements with equal keys, `a`'s.
#[builtin]
#[allow(non_snake_case)]
pub fn builtin_go_set_union(a: Val, b: Val, keyF: Option<KeyFn>) -> Result<Val> {
    let (a, b) = (Items::new(a, "setUnion")?, Items::new(b, "setUnion")?);
    let (mut i, mut j, mut acc) = (0, 0, Vec::new());
    loop {
        if i >= a.len() {
            return b.appended_to(acc, j);
        }
        if j >= b.len() {
            return a.appended_to(acc, i);
        }
        match compare(&key(keyF.as_ref(), a.at(i))?, &key(keyF.as_ref(), b.at(j))?)? {
            std::cmp::Ordering::Equal => {
                acc.push(a.at(i));
                (i, j) = (i + 1, j + 1);
            }
            std::cmp::Ordering::Less => {
                acc.push(a.at(i));
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                acc.push(b.at(j));
                j += 1;
            }
        }
    }
}

/// std.setDiff(a, b, keyF=id): the elements of `a` whose key is not in `b`.
#[builtin]
#[allow(non_snake_case)]
pub fn builtin_go_set_diff(a: Val, b: Val, keyF: Option<KeyFn>) -> Result<Val> {
    let (a, b) = (Items::new(a, "setDiff")?, Items::new(b, "setDiff")?);
    let (mut i, mut j, mut acc) = (0, 0, Vec::new());
    loop {
        if i >= a.len() {
            return Ok(Val::arr(acc));
        }
        if j >= b.len() {
            return a.appended_to(acc, i);
        }
        match compare(&key(keyF.as_ref(), a.at(i))?, &key(keyF.as_ref(), b.at(j))?)? {
            std::cmp::Ordering::Equal => (i, j) = (i + 1, j + 1),
            std::cmp::Ordering::Less => {
                acc.push(a.at(i));
                i += 1;
            }
            std::cmp::Ordering::Greater => j += 1,
        }
    }
}

/// std.setMember(x, arr, keyF=id): `std.length(std.setInter([x], arr, keyF)) > 0`, as std.jsonnet defines it. On a
/// sorted `arr` that is binary search's answer (jrsonnet's); on an unsorted one it can differ, as
/// `std.setMember(3, [5, 3, 1])` is false in go-jsonnet and C++ jsonnet.
#[builtin]
#[allow(non_snake_case)]
pub fn builtin_go_set_member(x: Val, arr: Val, keyF: Option<KeyFn>) -> Result<bool> {
    let arr = Items::new(arr, "setMember")?;
    let wanted = key(keyF.as_ref(), x)?;
    for j in 0..arr.len() {
        match compare(&wanted, &key(keyF.as_ref(), arr.at(j))?)? {
            std::cmp::Ordering::Equal => return Ok(true),
            std::cmp::Ordering::Less => return Ok(false),
            std::cmp::Ordering::Greater => {}
        }
    }
    Ok(false)
}
