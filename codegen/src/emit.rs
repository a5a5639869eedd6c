//! Rust tokens for types and endpoints.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use anyhow::{bail, Context, Result};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::model::{
    Body, Deprecation, Enum, Interface, Property, Request, TypeAlias, TypeDef, TypeName, ValueOf,
    Variants,
};
use crate::names::{ident, pascal, snake};
use crate::resolve::{is_split_container, FlatMap, Resolved};

/// Context for rendering one type's references.
#[allow(missing_debug_implementations)]
pub struct TyCx<'c> {
    /// Generic parameters in scope.
    pub generics: &'c [TypeName],
    /// The current module.
    pub module: &'c [String],
    /// The type that owns inline items.
    pub owner: TypeName,
    /// Identifier prefix for inline unions.
    pub inline_prefix: String,
    /// Inline items created while rendering.
    pub extra: Vec<(String, TokenStream)>,
    /// Where we are, for error messages.
    pub context: String,
}

/// The structural kind of a value, for ordering untagged members and query encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Shape {
    /// `null`.
    Unit,
    /// A boolean.
    Bool,
    /// An integer.
    Int,
    /// A float.
    Float,
    /// A spec enum.
    Enum,
    /// A string.
    Str,
    /// A duration.
    Duration,
    /// A list.
    List,
    /// A map.
    Map,
    /// A union, container or tagged enum.
    Union,
    /// An object.
    Object,
    /// Anything.
    Any,
}

fn doc(text: &str) -> TokenStream {
    quote!(#[doc = #text])
}

/// `#[deprecated(since = …)]` or nothing.
pub fn deprecated_attr(d: &Option<Deprecation>) -> TokenStream {
    deprecated(d)
}

fn deprecated(d: &Option<Deprecation>) -> TokenStream {
    match d {
        Some(d) => {
            let v = &d.version;
            quote!(#[deprecated(since = #v)])
        }
        None => quote!(),
    }
}

/// `<A = serde_json::Value, …>`.
pub fn decl_generics(g: &[TypeName]) -> TokenStream {
    if g.is_empty() {
        return quote!();
    }
    let ids = g.iter().map(|t| format_ident!("{}", t.name));
    quote!(<#(#ids = serde_json::Value),*>)
}

/// `<A, …>`.
pub fn use_generics(g: &[TypeName]) -> TokenStream {
    if g.is_empty() {
        return quote!();
    }
    let ids = g.iter().map(|t| format_ident!("{}", t.name));
    quote!(<#(#ids),*>)
}

impl<'a> Resolved<'a> {
    /// The path of a generated type as seen from `module`.
    pub fn path_to(&self, t: &TypeName, module: &[String]) -> TokenStream {
        let loc = &self.loc[t];
        let id = format_ident!("{}", loc.ident);
        if loc.module == module {
            quote!(#id)
        } else {
            let segs = loc.module.iter().map(|s| ident(s));
            quote!(crate #(:: #segs)* :: #id)
        }
    }

    /// Follows plain aliases (not unions with variants) to the underlying value.
    pub fn resolve_alias(&self, v: &ValueOf) -> ValueOf {
        let mut cur = v.clone();
        for _ in 0..32 {
            let ValueOf::InstanceOf { ty, generics } = &cur else {
                return cur;
            };
            if crate::resolve::is_special(ty) {
                return cur;
            }
            match self.defs.get(ty) {
                Some(TypeDef::TypeAlias(a)) if a.variants.is_none() => {
                    let map: HashMap<TypeName, ValueOf> = a
                        .generics
                        .iter()
                        .cloned()
                        .zip(generics.iter().cloned())
                        .collect();
                    cur = crate::resolve::subst(&a.ty, &map);
                }
                _ => return cur,
            }
        }
        cur
    }

    /// The structural kind of a value.
    pub fn shape(&self, v: &ValueOf) -> Shape {
        match self.resolve_alias(v) {
            ValueOf::InstanceOf { ty, generics } => match (ty.namespace.as_str(), ty.name.as_str())
            {
                ("_builtins", "string") => Shape::Str,
                ("_builtins", "boolean") => Shape::Bool,
                ("_builtins", "number") => Shape::Float,
                ("_builtins", "null") | ("_builtins", "void") => Shape::Unit,
                ("_builtins", _) => Shape::Any,
                ("_types", "float" | "double") => Shape::Float,
                ("_types", "long" | "integer" | "short" | "byte" | "uint" | "ulong") => Shape::Int,
                ("_types", "Duration") => Shape::Duration,
                ("_spec_utils", "Stringified" | "WithNullValue") => generics
                    .first()
                    .map(|g| self.shape(g))
                    .unwrap_or(Shape::Any),
                ("_spec_utils", "PipeSeparatedFlags") => Shape::Str,
                ("_spec_utils", _) => Shape::Unit,
                _ => match self.defs.get(&ty) {
                    Some(TypeDef::Enum(_)) => Shape::Enum,
                    Some(TypeDef::TypeAlias(_)) => Shape::Union,
                    Some(TypeDef::Interface(i)) if i.variants.is_some() => Shape::Union,
                    Some(_) => Shape::Object,
                    None => Shape::Any,
                },
            },
            ValueOf::ArrayOf { .. } => Shape::List,
            ValueOf::DictionaryOf { .. } => Shape::Map,
            ValueOf::UnionOf { items } => {
                let (members, _) = self.union_members(&items);
                if members.len() == 1 {
                    self.shape(&members[0])
                } else if self.one_or_many(&members).is_some() {
                    Shape::List
                } else {
                    Shape::Union
                }
            }
            ValueOf::UserDefinedValue => Shape::Any,
            ValueOf::LiteralValue { value } => match value {
                serde_json::Value::Bool(_) => Shape::Bool,
                serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => Shape::Int,
                serde_json::Value::Number(_) => Shape::Float,
                _ => Shape::Str,
            },
        }
    }

    /// Whether a value can be written into a URL (`UrlValue`).
    pub fn urlable(&self, v: &ValueOf) -> bool {
        match self.resolve_alias(v) {
            ValueOf::InstanceOf { ty, generics } => {
                if ty.namespace == "_spec_utils" {
                    return match ty.name.as_str() {
                        "Stringified" | "WithNullValue" => {
                            generics.first().is_some_and(|g| self.urlable(g))
                        }
                        "PipeSeparatedFlags" => true,
                        _ => false,
                    };
                }
                match self.shape(&ValueOf::InstanceOf {
                    ty: ty.clone(),
                    generics: vec![],
                }) {
                    Shape::Str
                    | Shape::Bool
                    | Shape::Int
                    | Shape::Float
                    | Shape::Enum
                    | Shape::Duration => true,
                    Shape::Union => match self.defs.get(&ty) {
                        Some(TypeDef::TypeAlias(a)) if a.variants.is_none() => {
                            if let ValueOf::UnionOf { items } = &a.ty {
                                let (m, _) = self.union_members(items);
                                m.iter().all(|x| self.urlable(x))
                            } else {
                                false
                            }
                        }
                        _ => false,
                    },
                    _ => false,
                }
            }
            ValueOf::ArrayOf { value } => self.urlable(&value),
            ValueOf::UnionOf { items } => {
                let (m, _) = self.union_members(&items);
                m.iter().all(|x| self.urlable(x))
            }
            ValueOf::LiteralValue { .. } => true,
            _ => false,
        }
    }

    /// A canonical text for deduplicating union members.
    fn canon(&self, v: &ValueOf) -> String {
        match self.resolve_alias(v) {
            ValueOf::InstanceOf { ty, generics } => {
                let base = match (ty.namespace.as_str(), ty.name.as_str()) {
                    ("_types", "float" | "double") | ("_builtins", "number") => "f64".to_string(),
                    _ => ty.to_string(),
                };
                let g: Vec<String> = generics.iter().map(|g| self.canon(g)).collect();
                format!("{base}<{}>", g.join(","))
            }
            ValueOf::ArrayOf { value } => format!("[{}]", self.canon(&value)),
            ValueOf::DictionaryOf { key, value, .. } => {
                format!("{{{}:{}}}", self.canon(&key), self.canon(&value))
            }
            ValueOf::UnionOf { items } => {
                let m: Vec<String> = items.iter().map(|i| self.canon(i)).collect();
                format!("({})", m.join("|"))
            }
            ValueOf::UserDefinedValue => "any".into(),
            ValueOf::LiteralValue { value } => match value {
                serde_json::Value::Bool(_) => "_builtins.boolean<>".into(),
                serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "i64".into(),
                serde_json::Value::Number(_) => "f64".into(),
                _ => "_builtins.string<>".into(),
            },
        }
    }

    /// Union members without `null`, deduplicated; and whether `null` was present.
    pub fn union_members(&self, items: &[ValueOf]) -> (Vec<ValueOf>, bool) {
        let mut out: Vec<ValueOf> = Vec::new();
        let mut seen = BTreeSet::new();
        let mut nullable = false;
        for i in items {
            if let ValueOf::InstanceOf { ty, .. } = i {
                if ty.namespace == "_builtins" && ty.name == "null" {
                    nullable = true;
                    continue;
                }
                if ty.namespace == "_spec_utils" && ty.name == "NullValue" {
                    nullable = true;
                    continue;
                }
            }
            // Nested unions are flattened.
            if let ValueOf::UnionOf { items: inner } = i {
                let (m, n) = self.union_members(inner);
                nullable |= n;
                for x in m {
                    if seen.insert(self.canon(&x)) {
                        out.push(x);
                    }
                }
                continue;
            }
            if seen.insert(self.canon(i)) {
                out.push(i.clone());
            }
        }
        (out, nullable)
    }

    /// `T | T[]` → `Some(T)`.
    pub fn one_or_many(&self, members: &[ValueOf]) -> Option<ValueOf> {
        if members.len() != 2 {
            return None;
        }
        for (a, b) in [(&members[0], &members[1]), (&members[1], &members[0])] {
            if let ValueOf::ArrayOf { value } = b {
                if self.canon(value) == self.canon(a) {
                    return Some(a.clone());
                }
            }
        }
        None
    }

    /// Whether a value is nullable at its top level.
    pub fn nullable(&self, v: &ValueOf) -> bool {
        match v {
            ValueOf::UnionOf { items } => self.union_members(items).1,
            ValueOf::InstanceOf { ty, .. } => {
                (ty.namespace == "_spec_utils"
                    && matches!(ty.name.as_str(), "WithNullValue" | "NullValue"))
                    || matches!(self.defs.get(ty), Some(TypeDef::TypeAlias(a)) if a.variants.is_none() && self.nullable(&a.ty))
            }
            _ => false,
        }
    }

    /// Whether `v` (or its elements) is an externally tagged union: maps of it use typed keys.
    fn typed_keys_value(&self, v: &ValueOf) -> bool {
        match v {
            ValueOf::InstanceOf { ty, .. } => self.external.contains(ty),
            ValueOf::ArrayOf { value } => self.typed_keys_value(value),
            _ => false,
        }
    }

    /// Renders a value's Rust type.
    pub fn ty(&self, v: &ValueOf, cx: &mut TyCx) -> Result<TokenStream> {
        Ok(match v {
            ValueOf::InstanceOf { ty, generics } => {
                if cx.generics.contains(ty) {
                    let id = format_ident!("{}", ty.name);
                    return Ok(quote!(#id));
                }
                let args = generics
                    .iter()
                    .map(|g| self.ty(g, cx))
                    .collect::<Result<Vec<_>>>()?;
                match (ty.namespace.as_str(), ty.name.as_str()) {
                    ("_builtins", "string") => quote!(String),
                    ("_builtins", "boolean") => quote!(bool),
                    ("_builtins", "number") => quote!(f64),
                    ("_builtins", "null" | "void") => quote!(()),
                    ("_builtins", "binary") => quote!(serde_json::Value),
                    ("_builtins", other) => bail!("{}: unknown builtin type {other}", cx.context),
                    ("_types", "long") => quote!(i64),
                    ("_types", "integer") => quote!(i32),
                    ("_types", "short") => quote!(i16),
                    ("_types", "byte") => quote!(i8),
                    ("_types", "uint") => quote!(u32),
                    ("_types", "ulong") => quote!(u64),
                    ("_types", "float" | "double") => quote!(f64),
                    ("_types", "Duration") => quote!(crate::runtime::Duration),
                    ("_spec_utils", "Stringified") => {
                        let a = args.first().context("Stringified without argument")?;
                        quote!(crate::runtime::Stringified<#a>)
                    }
                    ("_spec_utils", "WithNullValue") => args
                        .first()
                        .cloned()
                        .context("WithNullValue without argument")?,
                    ("_spec_utils", "PipeSeparatedFlags") => quote!(String),
                    ("_spec_utils", "NullValue" | "Void") => quote!(()),
                    _ => {
                        if !self.loc.contains_key(ty) {
                            bail!("{}: dangling type reference {ty}", cx.context);
                        }
                        let p = self.path_to(ty, cx.module);
                        if args.is_empty() {
                            p
                        } else {
                            quote!(#p<#(#args),*>)
                        }
                    }
                }
            }
            ValueOf::ArrayOf { value } => {
                let t = self.ty(value, cx)?;
                quote!(Vec<#t>)
            }
            ValueOf::DictionaryOf {
                key,
                value,
                single_key,
            } => {
                let k = self.key_ty(key, cx)?;
                let val = self.ty(value, cx)?;
                if *single_key {
                    quote!(crate::runtime::SingleKey<#k, #val>)
                } else if self.typed_keys_value(value) {
                    quote!(crate::runtime::TypedKeys<#val>)
                } else {
                    quote!(std::collections::HashMap<#k, #val>)
                }
            }
            ValueOf::UnionOf { items } => {
                let (members, _) = self.union_members(items);
                if members.is_empty() {
                    quote!(())
                } else if members.len() == 1 {
                    self.ty(&members[0], cx)?
                } else if let Some(one) = self.one_or_many(&members) {
                    let t = self.ty(&one, cx)?;
                    quote!(crate::runtime::OneOrMany<#t>)
                } else {
                    // An inline union becomes an enum named after its owner and property.
                    let mut name = cx.inline_prefix.clone();
                    let mut n = 1;
                    while cx.extra.iter().any(|(k, _)| *k == name) {
                        n += 1;
                        name = format!("{}{n}", cx.inline_prefix);
                    }
                    let used = used_generics(v, cx.generics);
                    let owner = cx.owner.clone();
                    let mut inner = TyCx {
                        generics: cx.generics,
                        module: cx.module,
                        owner: owner.clone(),
                        inline_prefix: format!("{name}Item"),
                        extra: Vec::new(),
                        context: cx.context.clone(),
                    };
                    let item =
                        self.untagged_enum(&name, &members, &used, &owner, None, &mut inner)?;
                    cx.extra.append(&mut inner.extra);
                    cx.extra.push((name.clone(), item));
                    let id = format_ident!("{}", name);
                    let g = use_generics(&used);
                    quote!(#id #g)
                }
            }
            ValueOf::UserDefinedValue => quote!(serde_json::Value),
            ValueOf::LiteralValue { value } => match value {
                serde_json::Value::Bool(_) => quote!(bool),
                serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => quote!(i64),
                serde_json::Value::Number(_) => quote!(f64),
                _ => quote!(String),
            },
        })
    }

    /// A map key type: strings, enums and integers as they are, anything else `String`.
    fn key_ty(&self, v: &ValueOf, cx: &mut TyCx) -> Result<TokenStream> {
        match self.shape(v) {
            Shape::Str | Shape::Enum | Shape::Int => self.ty(v, cx),
            _ => Ok(quote!(String)),
        }
    }

    /// A variant name for a union member.
    fn member_name(&self, v: &ValueOf) -> String {
        match v {
            ValueOf::InstanceOf { ty, .. } => match (ty.namespace.as_str(), ty.name.as_str()) {
                ("_builtins", "string") => "String".into(),
                ("_builtins", "boolean") => "Bool".into(),
                ("_builtins", "number") => "Number".into(),
                ("_builtins", _) => "Unit".into(),
                _ => match self.loc.get(ty) {
                    Some(l) => l.ident.clone(),
                    None => pascal(&ty.name),
                },
            },
            ValueOf::ArrayOf { value } => format!("{}List", self.member_name(value)),
            ValueOf::DictionaryOf { .. } => "Map".into(),
            ValueOf::UnionOf { .. } => "Union".into(),
            ValueOf::UserDefinedValue => "Value".into(),
            ValueOf::LiteralValue { value } => match value {
                serde_json::Value::Bool(_) => "Bool".into(),
                serde_json::Value::Number(n) if n.is_i64() || n.is_u64() => "Long".into(),
                serde_json::Value::Number(_) => "Number".into(),
                _ => "String".into(),
            },
        }
    }

    fn required_count(&self, v: &ValueOf) -> usize {
        if let ValueOf::InstanceOf { ty, .. } = self.resolve_alias(v) {
            if let Some(TypeDef::Interface(i)) = self.defs.get(&ty) {
                if let Ok((p, _)) = self.effective(i) {
                    return p.iter().filter(|p| p.required).count();
                }
            }
        }
        0
    }

    /// An untagged enum over `members`, tried in an order that cannot mis-match
    /// (scalars before strings, objects with more required fields first, `Value` last).
    #[allow(clippy::too_many_arguments)]
    pub fn untagged_enum(
        &self,
        name: &str,
        members: &[ValueOf],
        generics: &[TypeName],
        owner: &TypeName,
        first: Option<&TypeName>,
        cx: &mut TyCx,
    ) -> Result<TokenStream> {
        let mut order: Vec<&ValueOf> = members.iter().collect();
        order.sort_by_key(|m| {
            let is_first =
                matches!((m, first), (ValueOf::InstanceOf { ty, .. }, Some(f)) if ty == f);
            (
                !is_first,
                self.shape(m),
                std::cmp::Reverse(self.required_count(m)),
            )
        });
        let id = format_ident!("{}", name);
        let mut variants = Vec::new();
        let mut froms = Vec::new();
        let mut url_arms = Vec::new();
        let mut used_names = BTreeSet::new();
        let all_url = members.iter().all(|m| self.urlable(m));
        let dg = decl_generics(generics);
        let ug = use_generics(generics);
        let mut has_string = false;
        for m in order {
            let mut vname = self.member_name(m);
            let mut n = 1;
            while !used_names.insert(vname.clone()) {
                n += 1;
                vname = format!("{}{n}", self.member_name(m));
            }
            let vid = format_ident!("{}", vname);
            let t = self.ty(m, cx)?;
            let boxed = self.needs_box(owner, m);
            if boxed {
                variants.push(quote!(#vid(Box<#t>)));
            } else {
                variants.push(quote!(#vid(#t)));
            }
            let is_param = matches!(m, ValueOf::InstanceOf { ty, .. } if generics.contains(ty));
            let is_unit = t.to_string() == "()";
            if !is_param && !is_unit {
                let wrap = if boxed {
                    quote!(Box::new(v))
                } else {
                    quote!(v)
                };
                froms.push(quote! {
                    impl #ug From<#t> for #id #ug { fn from(v: #t) -> Self { Self::#vid(#wrap) } }
                });
                if t.to_string() == "String" {
                    has_string = true;
                    froms.push(quote! {
                        impl #ug From<&str> for #id #ug { fn from(v: &str) -> Self { Self::#vid(v.to_owned()) } }
                    });
                }
            }
            url_arms.push(quote!(Self::#vid(v) => crate::runtime::UrlValue::write_values(v, push)));
        }
        let _ = has_string;
        let url = if all_url && generics.is_empty() {
            quote! {
                impl crate::runtime::UrlValue for #id {
                    fn write_values(&self, push: &mut dyn FnMut(&str)) {
                        match self { #(#url_arms,)* }
                    }
                }
            }
        } else {
            quote!()
        };
        let de_bound = de_bound_attr(generics);
        Ok(quote! {
            #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
            #[serde(untagged)]
            #de_bound
            #[non_exhaustive]
            pub enum #id #dg { #(#variants),* }
            #(#froms)*
            #url
        })
    }
}

/// Generic parameters of `generics` that `v` mentions.
pub fn used_generics(v: &ValueOf, generics: &[TypeName]) -> Vec<TypeName> {
    let mut used = BTreeSet::new();
    crate::resolve::visit_refs(v, &mut |t| {
        if generics.contains(t) {
            used.insert(t.clone());
        }
    });
    generics
        .iter()
        .filter(|g| used.contains(g))
        .cloned()
        .collect()
}

/// A struct field rendered from a property.
#[allow(missing_debug_implementations)]
pub struct Field {
    /// The identifier text (may be raw).
    pub ident: proc_macro2::Ident,
    /// The plain identifier name.
    pub name: String,
    /// The declared type (with `Option`/`Box`).
    pub decl: TokenStream,
    /// The setter argument type (`T` in `impl Into<T>`).
    pub inner: TokenStream,
    /// Whether it is an `Option`.
    pub optional: bool,
    /// Whether the inner value is boxed.
    pub boxed: bool,
    /// Serde and deprecation attributes.
    pub attrs: TokenStream,
    /// The wire name.
    pub wire: String,
    /// The property.
    pub prop: Option<Property>,
}

impl<'a> Resolved<'a> {
    /// Renders the fields of a property list.
    pub fn fields(
        &self,
        owner: &TypeName,
        owner_ident: &str,
        props: &[Property],
        flats: &[FlatMap],
        skip: Option<&str>,
        cx: &mut TyCx,
    ) -> Result<Vec<Field>> {
        let mut out: Vec<Field> = Vec::new();
        // Plain snake names; where `_score` and `score` both exist, the underscore one
        // keeps its leading underscore.
        let plain: Vec<String> = props
            .iter()
            .map(|p| snake(p.codegen_name.as_deref().unwrap_or(&p.name)))
            .collect();
        for p in props {
            if Some(p.name.as_str()) == skip {
                continue;
            }
            let base = p.codegen_name.clone().unwrap_or_else(|| p.name.clone());
            let mut name = snake(&base);
            if name.is_empty() {
                name = "value".into();
            }
            if base.starts_with('_') && plain.iter().filter(|n| **n == name).count() > 1 {
                name = format!("_{name}");
            }
            if out.iter().any(|f| f.name == name) {
                bail!(
                    "{owner}: name collision after case conversion: property `{}` maps to `{name}` which is taken",
                    p.name
                );
            }
            cx.context = format!("{owner}, property `{}`", p.name);
            cx.inline_prefix = format!("{owner_ident}{}", pascal(&base));
            let t = self.ty(&p.ty, cx)?;
            let boxed = self.needs_box(owner, &p.ty);
            let inner = t.clone();
            let held = if boxed { quote!(Box<#t>) } else { t };
            let optional = !p.required || self.nullable(&p.ty);
            let decl = if optional {
                quote!(Option<#held>)
            } else {
                held
            };
            let id = ident(&name);
            let wire = &p.name;
            let mut serde_parts = Vec::new();
            if id.to_string().trim_start_matches("r#") != wire {
                serde_parts.push(quote!(rename = #wire));
            }
            for a in &p.aliases {
                serde_parts.push(quote!(alias = #a));
            }
            if optional {
                // Missing `Option` fields decode as `None` without `default` (which would
                // add `T: Default` bounds on generic parameters).
                serde_parts.push(quote!(skip_serializing_if = "Option::is_none"));
            }
            let serde_attr = if serde_parts.is_empty() {
                quote!()
            } else {
                quote!(#[serde(#(#serde_parts),*)])
            };
            let dep = deprecated(&p.deprecation);
            out.push(Field {
                ident: id,
                name,
                decl,
                inner,
                optional,
                boxed,
                attrs: quote!(#dep #serde_attr),
                wire: wire.clone(),
                prop: Some(p.clone()),
            });
        }
        for f in flats {
            let name = snake(&f.field);
            if out.iter().any(|x| x.name == name) {
                continue;
            }
            cx.context = format!("{owner}, additional properties `{}`", f.field);
            cx.inline_prefix = format!("{owner_ident}{}", pascal(&f.field));
            let k = self.key_ty(&f.key, cx)?;
            let v = self.ty(&f.value, cx)?;
            let decl = if self.typed_keys_value(&f.value) {
                quote!(crate::runtime::TypedKeys<#v>)
            } else {
                quote!(std::collections::HashMap<#k, #v>)
            };
            out.push(Field {
                ident: ident(&name),
                name,
                decl: decl.clone(),
                inner: decl,
                optional: false,
                boxed: false,
                attrs: quote!(#[serde(flatten)]),
                wire: String::new(),
                prop: None,
            });
        }
        Ok(out)
    }

    /// Struct declaration + constructor (+ setters for input types).
    #[allow(clippy::too_many_arguments)]
    pub fn struct_item(
        &self,
        t: &TypeName,
        ident_name: &str,
        generics: &[TypeName],
        fields: &[Field],
        setters: bool,
        docs: TokenStream,
        remote: bool,
    ) -> Result<TokenStream> {
        let id = format_ident!("{}", ident_name);
        let dg = decl_generics(generics);
        let ug = use_generics(generics);
        let decls = fields.iter().map(|f| {
            let (a, i, d) = (&f.attrs, &f.ident, &f.decl);
            quote!(#a pub #i: #d)
        });
        let (args, inits) = ctor_parts(fields, generics);
        let mut methods = Vec::new();
        if setters {
            for f in fields.iter().filter(|f| f.optional) {
                if f.name == "new" {
                    continue;
                }
                let (i, inner) = (&f.ident, &f.inner);
                let val = if f.boxed {
                    quote!(Box::new(v.into()))
                } else {
                    quote!(v.into())
                };
                methods.push(quote! {
                    pub fn #i(mut self, v: impl Into<#inner>) -> Self { self.#i = Some(#val); self }
                });
            }
        }
        let remote_attr = if remote {
            quote!(#[serde(remote = "Self")])
        } else {
            quote!()
        };
        let de_bound = de_bound_attr(generics);
        let _ = t;
        Ok(quote! {
            #docs
            #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
            #remote_attr
            #de_bound
            #[non_exhaustive]
            pub struct #id #dg { #(#decls),* }
            impl #ug #id #ug {
                #[allow(clippy::new_without_default, clippy::too_many_arguments)]
                pub fn new(#(#args),*) -> Self { Self { #(#inits),* } }
                #(#methods)*
            }
        })
    }
}

/// Whether a rendered type is one of the generic parameters (taken as is, not
/// `impl Into<T>`, so the parameter can be inferred).
pub fn is_param(t: &TokenStream, generics: &[TypeName]) -> bool {
    let s = t.to_string();
    generics.iter().any(|g| g.name == s)
}

/// Constructor arguments and field initialisers.
pub fn ctor_parts(fields: &[Field], generics: &[TypeName]) -> (Vec<TokenStream>, Vec<TokenStream>) {
    let mut args = Vec::new();
    let mut inits = Vec::new();
    for f in fields {
        let i = &f.ident;
        if f.prop.is_none() {
            inits.push(quote!(#i: Default::default()));
        } else if f.optional {
            inits.push(quote!(#i: None));
        } else {
            let inner = &f.inner;
            if is_param(inner, generics) {
                args.push(quote!(#i: #inner));
                inits.push(if f.boxed {
                    quote!(#i: Box::new(#i))
                } else {
                    quote!(#i)
                });
                continue;
            }
            args.push(quote!(#i: impl Into<#inner>));
            if f.boxed {
                inits.push(quote!(#i: Box::new(#i.into())));
            } else {
                inits.push(quote!(#i: #i.into()));
            }
        }
    }
    (args, inits)
}

/// Facts about a type for its doc comment.
pub fn type_doc(t: &TypeName, url: Option<&str>, deprecated_since: Option<&str>) -> TokenStream {
    let mut s = format!("`{t}` in the specification.");
    if let Some(u) = url {
        s.push_str(&format!(" Reference: <{u}>."));
    }
    if let Some(d) = deprecated_since {
        s.push_str(&format!(" Deprecated since {d}."));
    }
    doc(&s)
}

impl<'a> Resolved<'a> {
    /// Emits a type definition (not requests/responses).
    pub fn emit_type(&self, t: &TypeName) -> Result<Vec<(String, TokenStream)>> {
        let loc = self.loc[t].clone();
        let def = self.defs[t];
        let mut cx = TyCx {
            generics: &[],
            module: &loc.module,
            owner: t.clone(),
            inline_prefix: loc.ident.clone(),
            extra: Vec::new(),
            context: format!("type {t}"),
        };
        let item = match def {
            TypeDef::Interface(i) => {
                cx.generics = &i.generics;
                if i.variants.is_some() {
                    self.container(t, i, &loc.ident, &mut cx)?
                } else {
                    self.interface(t, i, &loc.ident, &mut cx)?
                }
            }
            TypeDef::Enum(e) => self.enum_item(e, &loc.ident)?,
            TypeDef::TypeAlias(a) => {
                cx.generics = &a.generics;
                cx.inline_prefix = format!("{}Item", loc.ident);
                self.alias(t, a, &loc.ident, &mut cx)?
            }
            TypeDef::Request(_) | TypeDef::Response(_) => bail!("{t} is emitted with its endpoint"),
        };
        let mut out = cx.extra;
        out.push((loc.ident.clone(), item));
        Ok(out)
    }

    fn interface(
        &self,
        t: &TypeName,
        i: &Interface,
        name: &str,
        cx: &mut TyCx,
    ) -> Result<TokenStream> {
        let (props, flats) = self.effective(i)?;
        let skip = self.tag_skip.get(t).map(|s| s.as_str());
        let fields = self.fields(t, name, &props, &flats, skip, cx)?;
        let docs = type_doc(
            t,
            i.ext_doc_url.as_deref(),
            i.deprecation.as_ref().map(|d| d.version.as_str()),
        );
        let dep = deprecated(&i.deprecation);
        let docs = quote!(#docs #dep);
        let setters = self.input.contains(t);
        let Some(short) = &i.shortcut_property else {
            return self.struct_item(t, name, &i.generics, &fields, setters, docs, false);
        };
        // A shortcut property: the derive becomes inherent (`remote = "Self"`) and the
        // trait impls accept both the full object and the bare shortcut value.
        let s = self.struct_item(t, name, &i.generics, &fields, setters, docs, true)?;
        let f = fields
            .iter()
            .find(|f| f.prop.as_ref().is_some_and(|p| &p.name == short))
            .with_context(|| format!("{t}: shortcut property {short} is not a property"))?;
        let fi = &f.ident;
        let build = if f.optional {
            let val = if f.boxed {
                quote!(Box::new(v))
            } else {
                quote!(v)
            };
            quote!({ let mut s = Self::new(); s.#fi = Some(#val); s })
        } else {
            quote!(Self::new(v))
        };
        let id = format_ident!("{}", name);
        let dg = decl_generics(&i.generics);
        let ug = use_generics(&i.generics);
        let ser_bounds = bounds(&i.generics, quote!(serde::Serialize));
        let de_bounds = bounds(&i.generics, quote!(serde::de::DeserializeOwned));
        let _ = dg;
        let inner = &f.inner;
        let params = i.generics.iter().map(|g| format_ident!("{}", g.name));
        Ok(quote! {
            #s
            impl #ug serde::Serialize for #id #ug #ser_bounds {
                fn serialize<S: serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                    #id::serialize(self, s)
                }
            }
            impl<'de #(, #params)*> serde::Deserialize<'de> for #id #ug #de_bounds {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                    crate::runtime::de_shortcut(d, |v| #id::deserialize(v), |v| {
                        let v: #inner = crate::runtime::from_value(v)?;
                        Ok(#build)
                    })
                }
            }
        })
    }

    fn enum_item(&self, e: &Enum, name: &str) -> Result<TokenStream> {
        let id = format_ident!("{}", name);
        let mut variants = Vec::new();
        let mut arms = Vec::new();
        let mut used = BTreeSet::new();
        let mut wires: BTreeSet<&str> = BTreeSet::new();
        for m in &e.members {
            let base = m.codegen_name.clone().unwrap_or_else(|| m.name.clone());
            let mut v = pascal(&base);
            if v.is_empty() {
                v = match m.name.as_str() {
                    "*" => "All".into(),
                    "" => "Empty".into(),
                    _ => "Symbol".into(),
                };
            }
            if v == "Unknown" {
                v = "UnknownValue".into();
            }
            if !used.insert(v.clone()) {
                // `m`/`M` style clashes without a codegen name.
                let alt = if m.name.chars().any(|c| c.is_ascii_uppercase()) {
                    format!("{v}Upper")
                } else {
                    format!("{v}Lower")
                };
                if !used.insert(alt.clone()) {
                    bail!(
                        "{}: name collision after case conversion: enum member `{}` maps to `{v}`",
                        e.name,
                        m.name
                    );
                }
                v = alt;
            }
            let vid = format_ident!("{}", v);
            let dep = deprecated(&m.deprecation);
            variants.push(quote!(#dep #vid));
            let wire = &m.name;
            wires.insert(wire);
            // The specification repeats some aliases; the first member keeps them.
            let aliases: Vec<&String> = m
                .aliases
                .iter()
                .filter(|a| wires.insert(a.as_str()))
                .collect();
            arms.push(quote!(#vid = #wire #(| #aliases)*));
        }
        let docs = type_doc(
            &e.name,
            None,
            e.deprecation.as_ref().map(|d| d.version.as_str()),
        );
        Ok(quote! {
            #docs
            #[derive(Debug, Clone, PartialEq, Eq, Hash)]
            #[non_exhaustive]
            pub enum #id {
                #(#variants,)*
                /// A value this version of the client does not know; kept as sent.
                Unknown(String),
            }
            crate::runtime::wire_enum!(#id { #(#arms),* });
        })
    }

    fn alias(&self, t: &TypeName, a: &TypeAlias, name: &str, cx: &mut TyCx) -> Result<TokenStream> {
        let id = format_ident!("{}", name);
        let docs = type_doc(t, None, a.deprecation.as_ref().map(|d| d.version.as_str()));
        let dg = decl_generics(&a.generics);
        match (&a.variants, &a.ty) {
            (None, ValueOf::UnionOf { items }) => {
                let (members, _) = self.union_members(items);
                if members.len() >= 2 && self.one_or_many(&members).is_none() {
                    let e = self.untagged_enum(name, &members, &a.generics, t, None, cx)?;
                    return Ok(quote!(#docs #e));
                }
                let ty = self.ty(&a.ty, cx)?;
                Ok(quote!(#docs pub type #id #dg = #ty;))
            }
            (None, _) => {
                let ty = self.ty(&a.ty, cx)?;
                Ok(quote!(#docs pub type #id #dg = #ty;))
            }
            (Some(Variants::Untagged { untyped_variant }), ValueOf::UnionOf { items }) => {
                let (members, _) = self.union_members(items);
                let e =
                    self.untagged_enum(name, &members, &a.generics, t, Some(untyped_variant), cx)?;
                Ok(quote!(#docs #e))
            }
            (
                Some(Variants::InternalTag {
                    tag,
                    default_tag,
                    non_exhaustive,
                }),
                ValueOf::UnionOf { items },
            ) => self.internal_tagged(
                t,
                name,
                &a.generics,
                tag,
                default_tag.as_deref(),
                *non_exhaustive,
                items,
                docs,
                cx,
            ),
            (Some(Variants::ExternalTag { .. }), ValueOf::UnionOf { items }) => {
                self.external_tagged(t, name, &a.generics, items, docs, cx)
            }
            _ => bail!("{t}: unsupported alias shape"),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn internal_tagged(
        &self,
        t: &TypeName,
        name: &str,
        generics: &[TypeName],
        tag: &str,
        default_tag: Option<&str>,
        _open: bool,
        items: &[ValueOf],
        docs: TokenStream,
        cx: &mut TyCx,
    ) -> Result<TokenStream> {
        let id = format_ident!("{}", name);
        let dg = decl_generics(generics);
        let ug = use_generics(generics);
        let mut variants = Vec::new();
        let mut ser = Vec::new();
        let mut de = Vec::new();
        let mut froms = Vec::new();
        let mut seen = BTreeSet::new();
        for m in items {
            let ValueOf::InstanceOf { ty, .. } = m else {
                bail!("{t}: internally tagged member is not a named type");
            };
            let Some(TypeDef::Interface(mi)) = self.defs.get(ty) else {
                bail!("{t}: internally tagged member {ty} is not an interface");
            };
            let (props, _) = self.effective(mi)?;
            let lit = props
                .iter()
                .find(|p| p.name == tag)
                .and_then(|p| match &p.ty {
                    ValueOf::LiteralValue { value } => Some(value.clone()),
                    _ => None,
                })
                .with_context(|| format!("{t}: member {ty} has no literal `{tag}`"))?;
            let wire = match &lit {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let vname = pascal(&wire);
            if !seen.insert(vname.clone()) {
                bail!("{t}: name collision after case conversion: tag `{wire}`");
            }
            let vid = format_ident!(
                "{}",
                if vname.is_empty() {
                    "Empty".to_string()
                } else {
                    vname
                }
            );
            let mt = self.ty(m, cx)?;
            let boxed = self.needs_box(t, m);
            let (held, wrap) = if boxed {
                (quote!(Box<#mt>), quote!(Box::new(v)))
            } else {
                (quote!(#mt), quote!(v))
            };
            variants.push(quote!(#vid(#held)));
            let tag_value = match &lit {
                serde_json::Value::Bool(b) => quote!(serde_json::Value::Bool(#b)),
                _ => quote!(serde_json::Value::from(#wire)),
            };
            ser.push(quote!(Self::#vid(v) => crate::runtime::ser_tagged(s, #tag, #tag_value, v)));
            de.push(quote!(#wire => Self::#vid(crate::runtime::from_value(value)?)));
            froms.push(quote! {
                impl #ug From<#mt> for #id #ug { fn from(v: #mt) -> Self { Self::#vid(#wrap) } }
            });
        }
        let default = match default_tag {
            Some(d) => quote!(Some(#d)),
            None => quote!(None),
        };
        let ser_b = bounds(generics, quote!(serde::Serialize));
        let de_b = bounds(generics, quote!(serde::de::DeserializeOwned));
        let params = generics.iter().map(|g| format_ident!("{}", g.name));
        Ok(quote! {
            #docs
            #[derive(Debug, Clone)]
            #[non_exhaustive]
            pub enum #id #dg {
                #(#variants,)*
                /// A variant this version of the client does not know, kept as sent.
                Other(serde_json::Value),
            }
            #(#froms)*
            impl #ug serde::Serialize for #id #ug #ser_b {
                fn serialize<S: serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                    match self {
                        #(#ser,)*
                        Self::Other(v) => serde::Serialize::serialize(v, s),
                    }
                }
            }
            impl<'de #(, #params)*> serde::Deserialize<'de> for #id #ug #de_b {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                    crate::runtime::de_tagged(d, #tag, #default, |tag, value| {
                        Ok(match tag {
                            #(#de,)*
                            _ => Self::Other(value),
                        })
                    })
                }
            }
        })
    }

    fn external_tagged(
        &self,
        t: &TypeName,
        name: &str,
        generics: &[TypeName],
        items: &[ValueOf],
        docs: TokenStream,
        cx: &mut TyCx,
    ) -> Result<TokenStream> {
        let id = format_ident!("{}", name);
        let dg = decl_generics(generics);
        let ug = use_generics(generics);
        let mut variants = Vec::new();
        let mut tags = Vec::new();
        let mut sers = Vec::new();
        let mut de = Vec::new();
        let mut seen = BTreeSet::new();
        for m in items {
            let ValueOf::InstanceOf { ty, .. } = m else {
                bail!("{t}: externally tagged member is not a named type");
            };
            let Some(TypeDef::Interface(mi)) = self.defs.get(ty) else {
                bail!("{t}: externally tagged member {ty} is not an interface");
            };
            let wire = mi
                .variant_name
                .clone()
                .with_context(|| format!("{t}: member {ty} has no variant name"))?;
            let mut vname = pascal(&wire);
            if !seen.insert(vname.clone()) {
                vname = format!("{vname}{}", seen.len());
                seen.insert(vname.clone());
            }
            let vid = format_ident!("{}", vname);
            let mt = self.ty(m, cx)?;
            let boxed = self.needs_box(t, m);
            let held = if boxed { quote!(Box<#mt>) } else { quote!(#mt) };
            variants.push(quote!(#vid(#held)));
            tags.push(quote!(Self::#vid(_) => Some(#wire)));
            sers.push(quote!(Self::#vid(v) => serde::Serialize::serialize(v, s)));
            de.push(quote!(#wire => Self::#vid(crate::runtime::from_value(value)?)));
        }
        let ser_b = bounds(generics, quote!(serde::Serialize));
        let de_b = bounds(generics, quote!(serde::de::DeserializeOwned));
        let _ = dg;
        let decl = decl_generics(generics);
        Ok(quote! {
            #docs
            #[derive(Debug, Clone)]
            #[non_exhaustive]
            pub enum #id #decl {
                #(#variants,)*
                /// A variant without a known type tag (no `typed_keys`, or a tag this
                /// version does not know): the tag (empty when absent) and the value as sent.
                Other(String, serde_json::Value),
            }
            impl #ug serde::Serialize for #id #ug #ser_b {
                fn serialize<S: serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                    match self {
                        #(#sers,)*
                        Self::Other(_, v) => serde::Serialize::serialize(v, s),
                    }
                }
            }
            impl #ug crate::runtime::TypedValue for #id #ug #de_b {
                fn from_tagged(tag: &str, value: serde_json::Value) -> ::core::result::Result<Self, serde_json::Error> {
                    Ok(match tag {
                        #(#de,)*
                        _ => Self::Other(tag.to_owned(), value),
                    })
                }
            }
            impl #ug crate::runtime::TypeTag for #id #ug {
                fn type_tag(&self) -> Option<&str> {
                    match self {
                        #(#tags,)*
                        Self::Other(t, _) => if t.is_empty() { None } else { Some(t.as_str()) },
                    }
                }
            }
        })
    }

    fn container(
        &self,
        t: &TypeName,
        i: &Interface,
        name: &str,
        cx: &mut TyCx,
    ) -> Result<TokenStream> {
        let (props, _) = self.effective(i)?;
        let split = is_split_container(i);
        let own: Vec<&Property> = i.properties.iter().collect();
        let (variant_props, container_props): (Vec<Property>, Vec<Property>) = if split {
            let vp = own
                .iter()
                .filter(|p| !p.container_property)
                .map(|p| (*p).clone())
                .collect();
            let cp = props
                .iter()
                .filter(|p| {
                    !own.iter()
                        .any(|o| o.name == p.name && !o.container_property)
                })
                .cloned()
                .collect();
            (vp, cp)
        } else {
            (props.clone(), vec![])
        };
        let enum_name = if split {
            format!("{}Kind", crate::resolve::container_ident(&t.name))
        } else {
            name.to_string()
        };
        let eid = format_ident!("{}", enum_name);
        let dg = decl_generics(&i.generics);
        let ug = use_generics(&i.generics);
        let mut variants = Vec::new();
        let mut ser = Vec::new();
        let mut de = Vec::new();
        let mut froms = Vec::new();
        let mut from_types = BTreeMap::new();
        for p in &variant_props {
            let vname = pascal(&p.name);
            let vid = format_ident!("{}", vname);
            cx.context = format!("{t}, variant `{}`", p.name);
            cx.inline_prefix = format!("{enum_name}{vname}");
            let vt = self.ty(&p.ty, cx)?;
            let boxed = self.needs_box(t, &p.ty);
            let held = if boxed { quote!(Box<#vt>) } else { quote!(#vt) };
            let dep = deprecated(&p.deprecation);
            variants.push(quote!(#dep #vid(#held)));
            let wire = &p.name;
            ser.push(quote!(Self::#vid(v) => crate::runtime::ser_variant(s, #wire, v)));
            let mut pat = vec![quote!(#wire)];
            for a in &p.aliases {
                pat.push(quote!(#a));
            }
            de.push(quote!(#(#pat)|* => Self::#vid(crate::runtime::from_value(value)?)));
            if let ValueOf::InstanceOf { ty, .. } = &p.ty {
                let named = matches!(
                    self.defs.get(ty),
                    Some(TypeDef::Interface(_) | TypeDef::Enum(_))
                );
                if named
                    && ty != t
                    && self.loc.contains_key(ty)
                    && !i.generics.iter().any(|g| g == ty)
                {
                    from_types
                        .entry(vt.to_string())
                        .or_insert_with(Vec::new)
                        .push((vid.clone(), vt.clone(), boxed));
                }
            }
        }
        let mut unique_from = Vec::new();
        for (_, list) in from_types {
            if list.len() == 1 {
                let (vid, vt, boxed) = &list[0];
                let wrap = if *boxed {
                    quote!(Box::new(v))
                } else {
                    quote!(v)
                };
                froms.push(quote! {
                    impl #ug From<#vt> for #eid #ug { fn from(v: #vt) -> Self { Self::#vid(#wrap) } }
                });
                unique_from.push(vt.clone());
            }
        }
        // A container whose other keys are names (`SortOptions`: any key but its listed
        // variants is a field to sort on) holds those in a typed variant, not `Custom`.
        let other = match i
            .behaviors
            .iter()
            .find(|b| b.ty.name == "AdditionalProperty" && b.generics.len() == 2 && !split)
        {
            Some(b) => {
                cx.context = format!("{t}, additional property");
                let key = self.ty(&b.generics[0], cx)?;
                let value = self.ty(&b.generics[1], cx)?;
                let name = b.meta.get("key").cloned().unwrap_or_else(|| "other".into());
                Some((
                    format_ident!("{}", pascal(&name)),
                    format_ident!("{}", snake(&name)),
                    key,
                    value,
                ))
            }
            None => None,
        };
        let (fallback, fallback_ser, fallback_de, fallback_ctor) = match &other {
            Some((vid, ctor, key, value)) => (
                quote! {
                    /// Any other key, with its value.
                    #vid(#key, Box<#value>)
                },
                quote!(Self::#vid(k, v) => crate::runtime::ser_variant(s, k, v)),
                quote!(_ => Self::#vid(key.to_owned(), Box::new(crate::runtime::from_value(value)?))),
                quote! {
                    impl #ug #eid #ug {
                        /// The variant for any other key.
                        pub fn #ctor(key: impl Into<#key>, value: impl Into<#value>) -> Self {
                            Self::#vid(key.into(), Box::new(value.into()))
                        }
                    }
                },
            ),
            None => (
                quote! {
                    /// A variant this version of the client does not know (a plugin's, say):
                    /// its name and its body as sent.
                    Custom(String, serde_json::Value)
                },
                quote!(Self::Custom(k, v) => crate::runtime::ser_variant(s, k, v)),
                quote!(_ => Self::Custom(key.to_owned(), value)),
                quote!(),
            ),
        };
        let ser_b = bounds(&i.generics, quote!(serde::Serialize));
        let de_b = bounds(&i.generics, quote!(serde::de::DeserializeOwned));
        let params: Vec<_> = i
            .generics
            .iter()
            .map(|g| format_ident!("{}", g.name))
            .collect();
        let docs = type_doc(
            t,
            i.ext_doc_url.as_deref(),
            i.deprecation.as_ref().map(|d| d.version.as_str()),
        );
        let enum_tokens = quote! {
            #[derive(Debug, Clone)]
            #[non_exhaustive]
            pub enum #eid #dg {
                #(#variants,)*
                #fallback,
            }
            #fallback_ctor
            #(#froms)*
            impl #ug serde::Serialize for #eid #ug #ser_b {
                fn serialize<S: serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                    match self {
                        #(#ser,)*
                        #fallback_ser,
                    }
                }
            }
            impl<'de #(, #params)*> serde::Deserialize<'de> for #eid #ug #de_b {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                    crate::runtime::de_variant(d, |key, value| {
                        Ok(match key {
                            #(#de,)*
                            #fallback_de,
                        })
                    })
                }
            }
        };
        if !split {
            return Ok(quote!(#docs #enum_tokens));
        }
        // The struct: the variant plus the container's own properties.
        let fields = self.fields(t, name, &container_props, &[], None, cx)?;
        let id = format_ident!("{}", name);
        let decls = fields.iter().map(|f| {
            let (a, i, d) = (&f.attrs, &f.ident, &f.decl);
            let _ = a;
            quote!(pub #i: #d)
        });
        let (args, inits) = ctor_parts(&fields, &i.generics);
        let mut struct_froms = Vec::new();
        if args.is_empty() {
            struct_froms.push(quote! {
                impl #ug From<#eid #ug> for #id #ug { fn from(kind: #eid #ug) -> Self { Self::new(kind) } }
            });
            for vt in &unique_from {
                struct_froms.push(quote! {
                    impl #ug From<#vt> for #id #ug { fn from(v: #vt) -> Self { Self::new(#eid::from(v)) } }
                });
            }
        }
        let struct_froms = quote!(#(#struct_froms)*);
        let mut setters = Vec::new();
        for f in fields.iter().filter(|f| f.optional) {
            let (fi, inner) = (&f.ident, &f.inner);
            let val = if f.boxed {
                quote!(Box::new(v.into()))
            } else {
                quote!(v.into())
            };
            setters.push(quote!(pub fn #fi(mut self, v: impl Into<#inner>) -> Self { self.#fi = Some(#val); self }));
        }
        let mut ser_fields = Vec::new();
        let mut de_fields = Vec::new();
        for f in &fields {
            let fi = &f.ident;
            let wire = &f.wire;
            let names: Vec<String> = std::iter::once(wire.clone())
                .chain(
                    f.prop
                        .as_ref()
                        .map(|p| p.aliases.clone())
                        .unwrap_or_default(),
                )
                .collect();
            if f.optional {
                ser_fields.push(quote!(if let Some(v) = &self.#fi { crate::runtime::map_insert::<S, _>(&mut map, #wire, v)?; }));
                de_fields.push(quote!(#fi: crate::runtime::take_field(&mut map, &[#(#names),*])?));
            } else {
                ser_fields
                    .push(quote!(crate::runtime::map_insert::<S, _>(&mut map, #wire, &self.#fi)?;));
                de_fields.push(quote!(#fi: crate::runtime::take_field(&mut map, &[#(#names),*])?.ok_or_else(|| serde::de::Error::missing_field(#wire))?));
            }
        }
        Ok(quote! {
            #docs
            #[derive(Debug, Clone)]
            #[non_exhaustive]
            pub struct #id #dg {
                /// The variant.
                pub kind: #eid #ug,
                #(#decls),*
            }
            impl #ug #id #ug {
                #[allow(clippy::too_many_arguments)]
                pub fn new(kind: impl Into<#eid #ug> #(, #args)*) -> Self { Self { kind: kind.into() #(, #inits)* } }
                #(#setters)*
            }
            #struct_froms
            impl #ug serde::Serialize for #id #ug #ser_b {
                fn serialize<S: serde::Serializer>(&self, s: S) -> ::core::result::Result<S::Ok, S::Error> {
                    let mut map = crate::runtime::to_object::<S, _>(&self.kind)?;
                    #(#ser_fields)*
                    serde::Serialize::serialize(&map, s)
                }
            }
            impl<'de #(, #params)*> serde::Deserialize<'de> for #id #ug #de_b {
                fn deserialize<D: serde::Deserializer<'de>>(d: D) -> ::core::result::Result<Self, D::Error> {
                    let mut map = <serde_json::Map<String, serde_json::Value> as serde::Deserialize>::deserialize(d)?;
                    let mut out = Self {
                        kind: #eid::Custom(String::new(), serde_json::Value::Null),
                        #(#de_fields),*
                    };
                    out.kind = crate::runtime::from_value(serde_json::Value::Object(map)).map_err(serde::de::Error::custom)?;
                    Ok(out)
                }
            }
            #enum_tokens
        })
    }
}

/// `#[serde(bound(deserialize = "A: DeserializeOwned"))]` for generic types: typed-key
/// maps and tagged unions inside need owned deserialization.
pub fn de_bound_attr(g: &[TypeName]) -> TokenStream {
    if g.is_empty() {
        return quote!();
    }
    let b: Vec<String> = g
        .iter()
        .map(|t| format!("{}: serde::de::DeserializeOwned", t.name))
        .collect();
    let b = b.join(", ");
    quote!(#[serde(bound(deserialize = #b))])
}

/// `where A: bound, B: bound` or nothing.
pub fn bounds(g: &[TypeName], bound: TokenStream) -> TokenStream {
    if g.is_empty() {
        return quote!();
    }
    let ids = g.iter().map(|t| format_ident!("{}", t.name));
    quote!(where #(#ids: #bound),*)
}

/// Returns the request's generic parameters used by its body.
pub fn request_generics(r: &Request) -> Vec<TypeName> {
    r.generics.clone()
}

/// Whether a request body is a list of bulk operations.
pub fn is_bulk_body(b: &Body) -> bool {
    if let Body::Value {
        value: ValueOf::ArrayOf { value },
        ..
    } = b
    {
        if let ValueOf::UnionOf { items } = value.as_ref() {
            return items.iter().any(|i| {
                matches!(i, ValueOf::InstanceOf { ty, .. } if ty.name == "OperationContainer" && ty.namespace == "_global.bulk")
            });
        }
    }
    false
}
