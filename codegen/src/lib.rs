//! Generates the typed Elasticsearch API from the Elasticsearch specification.
//!
//! `schema.json` → [`model`] (serde) → [`resolve::Resolved`] (placement, features,
//! recursion) → Rust tokens (`quote`) → `syn` → `prettyplease`. The output is a set of
//! files below `client/src/generated/` plus the client's Cargo feature block.

pub mod emit;
pub mod endpoint;
pub mod model;
pub mod names;
pub mod resolve;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{anyhow, bail, Context, Result};
use proc_macro2::TokenStream;
use quote::quote;

use crate::names::ident;
use crate::resolve::Resolved;

/// The generated files (relative to `client/src/generated/`) and the feature block.
#[derive(Debug)]
pub struct Output {
    /// File path (with `/`) → contents.
    pub files: BTreeMap<String, String>,
    /// The text between the feature markers of `client/Cargo.toml`.
    pub features: String,
}

/// The marker lines around the generated feature block in `client/Cargo.toml`.
pub const FEATURES_BEGIN: &str = "# BEGIN generated features (maintained by `cargo xtask codegen`)";
/// See [`FEATURES_BEGIN`].
pub const FEATURES_END: &str = "# END generated features";

/// Parses the specification, naming the JSON path of the first error.
pub fn parse(json: &[u8]) -> Result<model::Model> {
    let de = &mut serde_json::Deserializer::from_slice(json);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        anyhow!("invalid specification at `{path}`: {}", e.into_inner())
    })
}

/// The feature enabled by default.
pub const DEFAULT_FEATURES: &[&str] = &["cat", "cluster", "indices", "root"];

#[derive(Default)]
struct Module {
    /// Items: (sort key, gate, tokens).
    items: Vec<(String, Option<String>, TokenStream)>,
    children: BTreeSet<String>,
    /// `pub use self::child::{A, B}` with gate.
    reexports: Vec<(String, Vec<String>, Option<String>)>,
}

/// Generates everything. `source` names the spec package for file headers
/// (`@elastic/request-converter@9.5.0`).
pub fn generate(json: &[u8], source: &str) -> Result<Output> {
    let model = parse(json)?;
    // A specification without endpoints would replace the whole client with nothing.
    if !model.endpoints.iter().any(|e| e.is_generated()) {
        bail!("invalid specification: no public endpoint in `endpoints`; nothing generated");
    }
    let r = Resolved::new(&model)?;
    let mut modules: BTreeMap<Vec<String>, Module> = BTreeMap::new();
    let endpoint_types: BTreeSet<&model::TypeName> = r
        .endpoints
        .iter()
        .flat_map(|e| [e.request.as_ref(), e.response.as_ref()])
        .flatten()
        .collect();
    for (t, loc) in &r.loc {
        if endpoint_types.contains(t) {
            continue;
        }
        if let Some(model::TypeDef::Request(_) | model::TypeDef::Response(_)) = r.defs.get(t) {
            continue;
        }
        let gate = r.gate[t].clone();
        let m = modules.entry(loc.module.clone()).or_default();
        for (key, item) in r.emit_type(t).with_context(|| format!("generating {t}"))? {
            m.items.push((key, gate.clone(), item));
        }
    }
    let mut registry = Vec::new();
    for e in &r.endpoints {
        let out = r
            .emit_endpoint(e)
            .with_context(|| format!("generating endpoint {}", e.name))?;
        let rq = e.request.as_ref().context("request")?;
        let loc = &r.loc[rq];
        let gate = Some(resolve::endpoint_feature(&e.name));
        let m = modules.entry(loc.module.clone()).or_default();
        for (key, item) in out.items {
            m.items.push((key, gate.clone(), item));
        }
        let (parent, child) = loc.module.split_at(loc.module.len() - 1);
        modules.entry(parent.to_vec()).or_default().reexports.push((
            child[0].clone(),
            out.reexports,
            gate,
        ));
        registry.push(out.registry);
    }
    // Register children.
    let paths: Vec<Vec<String>> = modules.keys().cloned().collect();
    for p in paths {
        for i in 1..p.len() {
            let parent = p[..i].to_vec();
            modules
                .entry(parent)
                .or_default()
                .children
                .insert(p[i].clone());
        }
        modules
            .entry(vec![])
            .or_default()
            .children
            .insert(p[0].clone());
    }
    // The gate of a module: the one feature all its items share, if any.
    let mut module_gate: BTreeMap<Vec<String>, Option<String>> = BTreeMap::new();
    let keys: Vec<Vec<String>> = modules.keys().cloned().collect();
    for k in &keys {
        let mut gates = BTreeSet::new();
        for (p, m) in &modules {
            if p.starts_with(k) && !k.is_empty() {
                for (_, g, _) in &m.items {
                    gates.insert(g.clone());
                }
                for (_, _, g) in &m.reexports {
                    gates.insert(g.clone());
                }
            }
        }
        let g = if gates.len() == 1 {
            gates.into_iter().next().flatten()
        } else {
            None
        };
        module_gate.insert(k.clone(), g);
    }

    let header = format!("// @generated by `cargo xtask codegen` from {source}. Do not edit.\n\n");
    let mut files = BTreeMap::new();
    // Files: the root mod.rs, one per top module, and one per child of `types`.
    fn body(
        path: &[String],
        modules: &BTreeMap<Vec<String>, Module>,
        module_gate: &BTreeMap<Vec<String>, Option<String>>,
        inline_children: bool,
    ) -> Result<TokenStream> {
        let Some(m) = modules.get(path) else {
            return Ok(quote!());
        };
        let own_gate = module_gate.get(path).cloned().flatten();
        let mut items: Vec<&(String, Option<String>, TokenStream)> = m.items.iter().collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let mut out = Vec::new();
        for (key, gate, tokens) in items {
            let tokens = if gate.is_some() && own_gate.is_none() {
                gate_items(tokens.clone(), gate).with_context(|| format!("item {key}"))?
            } else {
                tokens.clone()
            };
            out.push(tokens);
        }
        let mut reexports = m.reexports.clone();
        reexports.sort();
        for (child, names, gate) in reexports {
            let c = ident(&child);
            let ns = names.iter().map(|n| quote::format_ident!("{}", n));
            let attr = match (&gate, &own_gate) {
                (Some(f), None) => quote!(#[cfg(feature = #f)]),
                _ => quote!(),
            };
            out.push(quote!(#attr pub use self::#c::{#(#ns),*};));
        }
        for child in &m.children {
            let mut cp = path.to_vec();
            cp.push(child.clone());
            let c = ident(child);
            let g = module_gate.get(&cp).cloned().flatten();
            let attr = match (&g, &own_gate) {
                (Some(f), None) => quote!(#[cfg(feature = #f)]),
                _ => quote!(),
            };
            if inline_children {
                let inner = body(&cp, modules, module_gate, true)?;
                out.push(quote!(#attr pub mod #c { #inner }));
            } else {
                out.push(quote!(#attr pub mod #c;));
            }
        }
        Ok(quote!(#(#out)*))
    }
    let format_file = |tokens: TokenStream, name: &str| -> Result<String> {
        let file: syn::File = syn::parse2(tokens)
            .map_err(|e| anyhow!("{name}: generated code does not parse: {e}"))?;
        Ok(format!("{header}{}", prettyplease::unparse(&file)))
    };
    let root = modules
        .get(&vec![])
        .map(|m| m.children.clone())
        .unwrap_or_default();
    let mut mod_items = Vec::new();
    for top in &root {
        let tp = vec![top.clone()];
        let c = ident(top);
        let g = module_gate.get(&tp).cloned().flatten();
        let attr = match &g {
            Some(f) => quote!(#[cfg(feature = #f)]),
            None => quote!(),
        };
        mod_items.push(quote!(#attr pub mod #c;));
        if top == "types" {
            let t = body(&tp, &modules, &module_gate, false)?;
            files.insert("types/mod.rs".to_string(), format_file(t, "types/mod.rs")?);
            let children = modules
                .get(&tp)
                .map(|m| m.children.clone())
                .unwrap_or_default();
            for child in children {
                let cp = vec![top.clone(), child.clone()];
                let t = body(&cp, &modules, &module_gate, true)?;
                let name = format!("types/{child}.rs");
                files.insert(name.clone(), format_file(t, &name)?);
            }
        } else {
            let t = body(&tp, &modules, &module_gate, true)?;
            let name = format!("{top}.rs");
            files.insert(name.clone(), format_file(t, &name)?);
        }
    }
    mod_items.push(quote!(
        pub mod registry;
    ));
    files.insert(
        "mod.rs".to_string(),
        format_file(quote!(#(#mod_items)*), "mod.rs")?,
    );
    let count = registry.len();
    let reg = quote! {
        use crate::runtime::registry::{ApiSpec, BodyKind, ParamKind, PathSpec};
        /// Every public API of the specification, sorted by name.
        pub static APIS: [ApiSpec; #count] = [#(#registry),*];
    };
    files.insert("registry.rs".to_string(), format_file(reg, "registry.rs")?);

    Ok(Output {
        files,
        features: features_block(&r),
    })
}

/// Adds `#[cfg(feature = …)]` to every item of a token stream.
fn gate_items(tokens: TokenStream, gate: &Option<String>) -> Result<TokenStream> {
    let Some(f) = gate else { return Ok(tokens) };
    let mut file: syn::File = syn::parse2(tokens)?;
    let attr: syn::Attribute = syn::parse_quote!(#[cfg(feature = #f)]);
    for item in &mut file.items {
        let attrs = match item {
            syn::Item::Struct(i) => &mut i.attrs,
            syn::Item::Enum(i) => &mut i.attrs,
            syn::Item::Impl(i) => &mut i.attrs,
            syn::Item::Type(i) => &mut i.attrs,
            syn::Item::Macro(i) => &mut i.attrs,
            syn::Item::Use(i) => &mut i.attrs,
            syn::Item::Mod(i) => &mut i.attrs,
            syn::Item::Fn(i) => &mut i.attrs,
            syn::Item::Const(i) => &mut i.attrs,
            syn::Item::Static(i) => &mut i.attrs,
            _ => continue,
        };
        attrs.insert(0, attr.clone());
    }
    Ok(quote!(#file))
}

fn features_block(r: &Resolved) -> String {
    let mut s = String::new();
    s.push_str("[features]\n");
    let defaults: Vec<String> = DEFAULT_FEATURES
        .iter()
        .map(|f| format!("\"{f}\""))
        .collect();
    s.push_str(&format!("default = [{}]\n", defaults.join(", ")));
    let all: Vec<String> = r.feature_deps.keys().map(|f| format!("\"{f}\"")).collect();
    s.push_str(&format!("full = [{}]\n", all.join(", ")));
    for (f, deps) in &r.feature_deps {
        let d: Vec<String> = deps.iter().map(|f| format!("\"{f}\"")).collect();
        s.push_str(&format!("{f} = [{}]\n", d.join(", ")));
    }
    s
}

/// Replaces the feature block in the text of `client/Cargo.toml`.
pub fn splice_features(cargo_toml: &str, block: &str) -> Result<String> {
    let start = cargo_toml
        .find(FEATURES_BEGIN)
        .context("client/Cargo.toml has no generated-features start marker")?;
    let end = cargo_toml
        .find(FEATURES_END)
        .context("client/Cargo.toml has no generated-features end marker")?;
    let after_begin = start + FEATURES_BEGIN.len();
    Ok(format!(
        "{}\n{}{}",
        &cargo_toml[..after_begin],
        block,
        &cargo_toml[end..]
    ))
}
