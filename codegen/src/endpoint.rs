//! Request types, `Endpoint` impls, response types and the registry entry of each endpoint.

use std::collections::BTreeSet;

use anyhow::{bail, Context, Result};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::emit::{ctor_parts, decl_generics, is_bulk_body, use_generics, Field, Shape, TyCx};
use crate::model::{Body, Endpoint, Property, TypeDef, TypeName, ValueOf};
use crate::names::{ident, pascal, snake};
use crate::resolve::Resolved;

/// One URL pattern.
struct Pattern {
    segs: Vec<Seg>,
    parts: Vec<String>,
    methods: Vec<String>,
}

enum Seg {
    Lit(String),
    Part(String),
}

fn parse_path(path: &str) -> Vec<Seg> {
    let mut out = Vec::new();
    let mut rest = path;
    while let Some(start) = rest.find('{') {
        if start > 0 {
            out.push(Seg::Lit(rest[..start].to_string()));
        }
        let end = rest[start..]
            .find('}')
            .map(|e| e + start)
            .unwrap_or(rest.len() - 1);
        out.push(Seg::Part(rest[start + 1..end].to_string()));
        rest = &rest[end + 1..];
    }
    if !rest.is_empty() {
        out.push(Seg::Lit(rest.to_string()));
    }
    out
}

fn patterns(e: &Endpoint) -> Vec<Pattern> {
    let mut ps: Vec<(usize, bool, Pattern)> = e
        .urls
        .iter()
        .enumerate()
        .map(|(i, u)| {
            let segs = parse_path(&u.path);
            let parts = segs
                .iter()
                .filter_map(|s| match s {
                    Seg::Part(p) => Some(p.clone()),
                    Seg::Lit(_) => None,
                })
                .collect();
            (
                i,
                u.deprecation.is_some(),
                Pattern {
                    segs,
                    parts,
                    methods: u.methods.clone(),
                },
            )
        })
        .collect();
    ps.sort_by_key(|(i, dep, p)| (std::cmp::Reverse(p.parts.len()), *dep, *i));
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (_, _, p) in ps {
        let mut key = p.parts.clone();
        key.sort();
        if seen.insert(key) {
            out.push(p);
        }
    }
    out
}

/// What an endpoint answers with.
enum Answer {
    Exists,
    Json,
    Unit,
    Text,
    Bytes(String),
}

/// The registry's kind for a parameter.
fn param_kind(r: &Resolved, v: &ValueOf) -> &'static str {
    match r.shape(v) {
        Shape::Bool => "Boolean",
        Shape::Int | Shape::Float => "Number",
        Shape::Str => "String",
        Shape::Enum => "Enum",
        Shape::Duration => "Duration",
        Shape::List => "List",
        Shape::Union => "Union",
        _ => "Other",
    }
}

/// Generated pieces of one endpoint.
#[allow(missing_debug_implementations)]
pub struct EndpointOut {
    /// Items in the request's module.
    pub items: Vec<(String, TokenStream)>,
    /// The registry entry.
    pub registry: TokenStream,
    /// Re-exported names.
    pub reexports: Vec<String>,
}

impl<'a> Resolved<'a> {
    /// Emits one endpoint.
    pub fn emit_endpoint(&self, e: &Endpoint) -> Result<EndpointOut> {
        let ctx = format!("endpoint {}", e.name);
        let rq_name = e.request.as_ref().context("no request")?;
        let rs_name = e.response.as_ref().context("no response")?;
        let TypeDef::Request(rq) = self.def(rq_name, &ctx)? else {
            bail!("{ctx}: {rq_name} is not a request");
        };
        let TypeDef::Response(rs) = self.def(rs_name, &ctx)? else {
            bail!("{ctx}: {rs_name} is not a response");
        };
        let loc = self.loc[rq_name].clone();
        let module = loc.module.clone();
        let req_ident = format_ident!("{}", loc.ident);
        let resp_ident_s = self.loc[rs_name].ident.clone();
        let resp_ident = format_ident!("{}", resp_ident_s);
        let last = rq_name.namespace.rsplit('.').next().unwrap_or("");
        let body_ident_s = format!("{}Body", pascal(last));
        let body_ident = format_ident!("{}", body_ident_s);
        if self
            .loc
            .values()
            .any(|l| l.module == module && l.ident == body_ident_s)
        {
            bail!(
                "{ctx}: name collision: {body_ident_s} already exists in {}",
                module.join("::")
            );
        }
        let mut items: Vec<(String, TokenStream)> = Vec::new();

        // Generic parameters: the request's own, then the response's document types.
        let body_generics: Vec<TypeName> = rq.generics.clone();
        let body_gnames: Vec<String> = body_generics.iter().map(|g| g.name.clone()).collect();
        let phantom: Vec<TypeName> = rs
            .generics
            .iter()
            .filter(|g| !body_gnames.contains(&g.name))
            .cloned()
            .collect();
        let mut all_generics = body_generics.clone();
        all_generics.extend(phantom.iter().cloned());

        let mut cx = TyCx {
            generics: &body_generics,
            module: &module,
            owner: rq_name.clone(),
            inline_prefix: loc.ident.clone(),
            extra: Vec::new(),
            context: ctx.clone(),
        };

        // Path parts, query parameters and the body.
        // Path parts in the order the URL has them (`/{index}/_doc/{id}`), so the
        // constructor reads like the path.
        let longest = e
            .urls
            .iter()
            .map(|u| u.path.as_str())
            .max_by_key(|p| p.len())
            .unwrap_or_default();
        let mut path_props = rq.path.clone();
        path_props.sort_by_key(|p| {
            longest
                .find(&format!("{{{}}}", p.name))
                .unwrap_or(usize::MAX)
        });
        let path_fields = self.fields(rq_name, &loc.ident, &path_props, &[], None, &mut cx)?;
        let mut query_props: Vec<Property> = rq.query.clone();
        let is_cat = rq
            .attached_behaviors
            .iter()
            .any(|b| b == "CommonCatQueryParameters");
        if is_cat {
            let cat = TypeName {
                namespace: "_spec_utils".into(),
                name: "CommonCatQueryParameters".into(),
            };
            if let Some(TypeDef::Interface(i)) = self.defs.get(&cat) {
                for p in &i.properties {
                    if !query_props.iter().any(|q| q.name == p.name) {
                        query_props.push(p.clone());
                    }
                }
            }
        }
        for p in &mut query_props {
            p.required = p.required && !matches!(p.ty, ValueOf::LiteralValue { .. });
        }
        let mut body_props: Vec<Property> = Vec::new();
        let mut body_flats = Vec::new();
        if let Body::Properties { properties } = &rq.body {
            if let Some(parent) = &rq.inherits {
                self.inherit_into(parent, &mut body_props, &mut body_flats, &ctx)?;
            }
            for p in properties {
                if let Some(slot) = body_props.iter_mut().find(|q| q.name == p.name) {
                    *slot = p.clone();
                } else {
                    body_props.push(p.clone());
                }
            }
        }
        let body_fields = self.fields(
            rq_name,
            &body_ident_s,
            &body_props,
            &body_flats,
            None,
            &mut cx,
        )?;
        // A path part that is also a body field (`scroll_id`): the body keeps the name.
        let mut path_fields = path_fields;
        for f in &mut path_fields {
            if body_fields.iter().any(|b| b.name == f.name) {
                f.name = format!("{}_path", f.name);
                f.ident = ident(&f.name);
            }
        }
        let mut query_fields =
            self.fields(rq_name, &loc.ident, &query_props, &[], None, &mut cx)?;
        let reserved: BTreeSet<String> = path_fields
            .iter()
            .chain(&body_fields)
            .map(|f| f.name.clone())
            .chain(["body", "common", "new"].map(String::from))
            .collect();
        let mut renamed = BTreeSet::new();
        for f in &mut query_fields {
            if reserved.contains(&f.name) || path_fields.iter().any(|p| p.name == f.name) {
                f.name = format!("{}_param", f.name);
                f.ident = ident(&f.name);
                renamed.insert(f.name.clone());
            }
        }
        {
            let mut all: BTreeSet<&str> = BTreeSet::new();
            for f in path_fields.iter().chain(&query_fields) {
                if !all.insert(&f.name) {
                    bail!("{ctx}: name collision after case conversion: `{}`", f.name);
                }
            }
        }

        // The value body, when the body is one value.
        let ndjson = e.request_media_type.iter().any(|m| m.contains("ndjson"));
        let bulk = is_bulk_body(&rq.body);
        struct ValueBody {
            ident: proc_macro2::Ident,
            ty: TokenStream,
            required: bool,
        }
        let value_body = match &rq.body {
            Body::Value {
                value,
                codegen_name,
            } => {
                let name = snake(codegen_name.as_deref().unwrap_or("body"));
                let ty = if bulk {
                    let g: Vec<TokenStream> = (0..2)
                        .map(|i| match body_generics.get(i) {
                            Some(t) => {
                                let id = format_ident!("{}", t.name);
                                quote!(#id)
                            }
                            None => quote!(serde_json::Value),
                        })
                        .collect();
                    quote!(Vec<crate::runtime::BulkOperation<#(#g),*>>)
                } else {
                    cx.inline_prefix = format!("{}{}", loc.ident, pascal(&name));
                    self.ty(value, &mut cx)?
                };
                Some(ValueBody {
                    ident: ident(&name),
                    ty,
                    required: e.request_body_required || bulk,
                })
            }
            _ => None,
        };
        if let Some(vb) = &value_body {
            let n = vb.ident.to_string();
            if path_fields
                .iter()
                .chain(&query_fields)
                .any(|f| f.ident == n)
            {
                bail!("{ctx}: name collision: body `{n}` is also a parameter");
            }
        }
        let has_props_body = !body_fields.is_empty();

        // The response.
        let methods_all: BTreeSet<&str> = e
            .urls
            .iter()
            .flat_map(|u| u.methods.iter().map(|m| m.as_str()))
            .collect();
        let json_resp = e.response_media_type.is_empty()
            || e.response_media_type
                .iter()
                .any(|m| m == "application/json");
        let answer = if methods_all.len() == 1 && methods_all.contains("HEAD") {
            Answer::Exists
        } else if json_resp {
            if matches!(rs.body, Body::NoBody) {
                Answer::Unit
            } else {
                Answer::Json
            }
        } else if e.response_media_type.iter().any(|m| m == "text/plain") {
            Answer::Text
        } else {
            Answer::Bytes(e.response_media_type.first().cloned().unwrap_or_default())
        };

        // Response type.
        let resp_decl_g = decl_generics(&rs.generics);
        let resp_docs = crate::emit::type_doc(rs_name, None, None);
        match &rs.body {
            Body::Properties { properties } => {
                let mut props = Vec::new();
                let mut flats = Vec::new();
                if let Some(parent) = &rs.inherits {
                    self.inherit_into(parent, &mut props, &mut flats, &ctx)?;
                }
                for p in properties {
                    if let Some(slot) = props.iter_mut().find(|q| q.name == p.name) {
                        *slot = p.clone();
                    } else {
                        props.push(p.clone());
                    }
                }
                let mut rcx = TyCx {
                    generics: &rs.generics,
                    module: &module,
                    owner: rs_name.clone(),
                    inline_prefix: resp_ident_s.clone(),
                    extra: Vec::new(),
                    context: format!("{ctx}, response"),
                };
                let fields = self.fields(rs_name, &resp_ident_s, &props, &flats, None, &mut rcx)?;
                let item = self.struct_item(
                    rs_name,
                    &resp_ident_s,
                    &rs.generics,
                    &fields,
                    false,
                    resp_docs,
                    false,
                )?;
                items.append(&mut rcx.extra);
                items.push((resp_ident_s.clone(), item));
            }
            Body::Value { value, .. } => {
                let mut rcx = TyCx {
                    generics: &rs.generics,
                    module: &module,
                    owner: rs_name.clone(),
                    inline_prefix: resp_ident_s.clone(),
                    extra: Vec::new(),
                    context: format!("{ctx}, response"),
                };
                let t = self.ty(value, &mut rcx)?;
                items.append(&mut rcx.extra);
                items.push((
                    resp_ident_s.clone(),
                    quote!(#resp_docs pub type #resp_ident #resp_decl_g = #t;),
                ));
            }
            Body::NoBody => {
                items.push((
                    resp_ident_s.clone(),
                    quote!(#resp_docs pub type #resp_ident = ();),
                ));
            }
        }

        // The request struct.
        let mut decls = Vec::new();
        for f in path_fields.iter().chain(&query_fields) {
            let (i, d) = (&f.ident, &f.decl);
            let dep = f
                .prop
                .as_ref()
                .and_then(|p| p.deprecation.as_ref())
                .map(|d| {
                    let v = &d.version;
                    quote!(#[deprecated(since = #v)])
                });
            let doc = if renamed.contains(&f.name) {
                let w = format!("The `{}` query parameter.", f.wire);
                quote!(#[doc = #w])
            } else {
                quote!()
            };
            decls.push(quote!(#doc #dep pub #i: #d));
        }
        let body_used_generics: Vec<TypeName> = {
            let mut used = BTreeSet::new();
            for p in &body_props {
                crate::resolve::visit_refs(&p.ty, &mut |t| {
                    if body_generics.contains(t) {
                        used.insert(t.clone());
                    }
                });
            }
            body_generics
                .iter()
                .filter(|g| used.contains(g))
                .cloned()
                .collect()
        };
        let body_ug = use_generics(&body_used_generics);
        if has_props_body {
            decls.push(quote!(pub body: #body_ident #body_ug));
        }
        if let Some(vb) = &value_body {
            let (i, t) = (&vb.ident, &vb.ty);
            if vb.required {
                decls.push(quote!(pub #i: #t));
            } else {
                decls.push(quote!(pub #i: Option<#t>));
            }
        }
        decls.push(quote!(pub common: crate::runtime::CommonParams));
        let phantom_ids: Vec<_> = phantom
            .iter()
            .map(|g| format_ident!("{}", g.name))
            .collect();
        if !phantom.is_empty() {
            decls.push(quote!(_response: std::marker::PhantomData<fn() -> (#(#phantom_ids,)*)>));
        }
        let decl_g = decl_generics(&all_generics);
        let use_g = use_generics(&all_generics);
        let req_doc = self.endpoint_doc(e);
        let dep = crate::emit::deprecated_attr(&e.deprecation);
        let typed_keys_note = if query_fields.iter().any(|f| f.wire == "typed_keys") {
            quote!(#[doc = ""] #[doc = "`typed_keys` is sent as `true` unless set, so aggregations and suggestions decode into their types."])
        } else {
            quote!()
        };
        let cat_note = if is_cat && json_resp {
            quote!(#[doc = ""] #[doc = "`format` is sent as `json` unless set, so the records decode; `Client::send_raw` keeps the text form reachable."])
        } else {
            quote!()
        };
        items.push((
            loc.ident.clone(),
            quote! {
                #req_doc
                #typed_keys_note
                #cat_note
                #dep
                #[derive(Debug, Clone)]
                #[non_exhaustive]
                pub struct #req_ident #decl_g { #(#decls),* }
            },
        ));

        // The body struct.
        if has_props_body {
            let bdg = decl_generics(&body_used_generics);
            let bdecls = body_fields.iter().map(|f| {
                let (a, i, d) = (&f.attrs, &f.ident, &f.decl);
                quote!(#a pub #i: #d)
            });
            let empties: Vec<TokenStream> = body_fields
                .iter()
                .map(|f| {
                    let i = &f.ident;
                    if f.prop.is_none() {
                        quote!(self.#i.is_empty())
                    } else if f.optional {
                        quote!(self.#i.is_none())
                    } else {
                        quote!(false)
                    }
                })
                .collect();
            let doc = format!("The body of [`{}`].", loc.ident);
            items.push((
                body_ident_s.clone(),
                quote! {
                    #[doc = #doc]
                    #[derive(Debug, Clone, serde::Serialize)]
                    #[non_exhaustive]
                    pub struct #body_ident #bdg { #(#bdecls),* }
                    impl #body_ug #body_ident #body_ug {
                        /// True when no field is set (the request is then sent without a body).
                        pub fn is_empty(&self) -> bool { #(#empties)&&* }
                    }
                },
            ));
        }

        // Constructor and setters.
        let mut args = Vec::new();
        let mut inits = Vec::new();
        let (pa, pi) = ctor_parts(&path_fields, &body_generics);
        args.extend(pa);
        inits.extend(pi);
        let (qa, qi) = ctor_parts(&query_fields, &body_generics);
        args.extend(qa);
        inits.extend(qi);
        if has_props_body {
            let (ba, bi) = ctor_parts(&body_fields, &body_generics);
            args.extend(ba);
            inits.push(quote!(body: #body_ident { #(#bi),* }));
        }
        if let Some(vb) = &value_body {
            let (i, t) = (&vb.ident, &vb.ty);
            if vb.required && crate::emit::is_param(t, &body_generics) {
                args.push(quote!(#i: #t));
                inits.push(quote!(#i));
            } else if vb.required {
                args.push(quote!(#i: impl Into<#t>));
                inits.push(quote!(#i: #i.into()));
            } else {
                inits.push(quote!(#i: None));
            }
        }
        inits.push(quote!(common: Default::default()));
        if !phantom.is_empty() {
            inits.push(quote!(_response: std::marker::PhantomData));
        }
        let body_g_ids: Vec<_> = body_generics
            .iter()
            .map(|g| format_ident!("{}", g.name))
            .collect();
        let ctor_impl_g = use_generics(&body_generics);
        let ctor_self_args: Vec<TokenStream> = body_g_ids
            .iter()
            .map(|i| quote!(#i))
            .chain(phantom.iter().map(|_| quote!(serde_json::Value)))
            .collect();
        let ctor_self = if ctor_self_args.is_empty() {
            quote!(#req_ident)
        } else {
            quote!(#req_ident<#(#ctor_self_args),*>)
        };
        let mut setters = Vec::new();
        let setter = |f: &Field, target: TokenStream| {
            let (i, inner) = (&f.ident, &f.inner);
            let val = if f.boxed {
                quote!(Box::new(v.into()))
            } else {
                quote!(v.into())
            };
            let doc = if renamed.contains(&f.name) {
                let w = format!("Sets the `{}` query parameter.", f.wire);
                quote!(#[doc = #w])
            } else {
                quote!()
            };
            if f.prop.is_none() {
                quote!()
            } else {
                quote!(#doc pub fn #i(mut self, v: impl Into<#inner>) -> Self { #target = Some(#val); self })
            }
        };
        for f in path_fields
            .iter()
            .chain(&query_fields)
            .filter(|f| f.optional)
        {
            let i = &f.ident;
            setters.push(setter(f, quote!(self.#i)));
        }
        for f in body_fields.iter().filter(|f| f.optional) {
            let i = &f.ident;
            setters.push(setter(f, quote!(self.body.#i)));
        }
        if let Some(vb) = &value_body {
            if !vb.required {
                let (i, t) = (&vb.ident, &vb.ty);
                setters.push(quote!(pub fn #i(mut self, v: impl Into<#t>) -> Self { self.#i = Some(v.into()); self }));
            }
        }
        let mut convert = quote!();
        if !phantom.is_empty() {
            let fname = if phantom.len() == 1 {
                format_ident!("with_document")
            } else {
                format_ident!("with_types")
            };
            let new_params: Vec<_> = phantom
                .iter()
                .map(|g| format_ident!("New{}", g.name))
                .collect();
            let target_args: Vec<TokenStream> = body_g_ids
                .iter()
                .map(|i| quote!(#i))
                .chain(new_params.iter().map(|i| quote!(#i)))
                .collect();
            let mut moves: Vec<TokenStream> = path_fields
                .iter()
                .chain(&query_fields)
                .map(|f| {
                    let i = &f.ident;
                    quote!(#i: self.#i)
                })
                .collect();
            if has_props_body {
                moves.push(quote!(body: self.body));
            }
            if let Some(vb) = &value_body {
                let i = &vb.ident;
                moves.push(quote!(#i: self.#i));
            }
            moves.push(quote!(common: self.common));
            moves.push(quote!(_response: std::marker::PhantomData));
            convert = quote! {
                /// The same request, decoding the documents of its response as the given type(s).
                pub fn #fname<#(#new_params),*>(self) -> #req_ident<#(#target_args),*> {
                    #req_ident { #(#moves),* }
                }
            };
        }
        items.push((
            format!("{}~impl", loc.ident),
            quote! {
                impl #ctor_impl_g #ctor_self {
                    #[allow(clippy::new_without_default, clippy::too_many_arguments)]
                    pub fn new(#(#args),*) -> Self { Self { #(#inits),* } }
                }
                impl #use_g #req_ident #use_g {
                    #(#setters)*
                    #convert
                }
            },
        ));

        // The Endpoint impl.
        let pats = patterns(e);
        let field_of = |part: &str| -> Result<&Field> {
            path_fields
                .iter()
                .find(|f| f.wire == part)
                .with_context(|| format!("{ctx}: URL part {{{part}}} is not a path property"))
        };
        let mut chain = Vec::new();
        let mut pchain = Vec::new();
        let mut closed = false;
        for (idx, p) in pats.iter().enumerate() {
            let mut writes = Vec::new();
            let mut opt = Vec::new();
            for s in &p.segs {
                match s {
                    Seg::Lit(l) => writes.push(quote!(u.literal(#l);)),
                    Seg::Part(part) => {
                        let f = field_of(part)?;
                        let i = &f.ident;
                        if f.optional {
                            opt.push(i.clone());
                            writes.push(quote!(u.part(#i);));
                        } else {
                            writes.push(quote!(u.part(&self.#i);));
                        }
                    }
                }
            }
            if opt.is_empty() {
                chain.push(quote!({ #(#writes)* }));
                pchain.push(quote!({ #idx }));
                closed = true;
                break;
            }
            let cond = if opt.len() == 1 {
                let i = &opt[0];
                quote!(let Some(#i) = &self.#i)
            } else {
                quote!(let (#(Some(#opt)),*) = (#(&self.#opt),*))
            };
            let pcond = opt.iter().map(|i| quote!(self.#i.is_some()));
            chain.push(quote!(if #cond { #(#writes)* }));
            pchain.push(quote!(if #(#pcond)&&* { #idx }));
        }
        if !closed {
            let lastp = pats.last().context("no URL pattern")?;
            let lits = lastp.segs.iter().filter_map(|s| match s {
                Seg::Lit(l) => Some(quote!(u.literal(#l);)),
                Seg::Part(_) => None,
            });
            chain.push(quote!({ #(#lits)* }));
            let n = pats.len() - 1;
            pchain.push(quote!({ #n }));
        }
        let path_code = quote!(#(#chain)else*);
        let mut query_code = Vec::new();
        for f in &query_fields {
            let i = &f.ident;
            let wire = &f.wire;
            let p = f.prop.as_ref().context("query field without property")?;
            if wire == "typed_keys" && f.optional {
                query_code.push(quote!(u.param("typed_keys", &self.#i.unwrap_or(true));));
            } else if wire == "format" && is_cat && json_resp && f.optional {
                query_code.push(quote!(u.param("format", &self.#i.as_deref().unwrap_or("json"));));
            } else if self.urlable(&p.ty) && !f.boxed {
                if f.optional {
                    query_code.push(quote!(u.opt_param(#wire, self.#i.as_ref());));
                } else {
                    query_code.push(quote!(u.param(#wire, &self.#i);));
                }
            } else if f.optional {
                query_code.push(quote!(if let Some(v) = &self.#i { u.param(#wire, &crate::runtime::AsJson(v)); }));
            } else {
                query_code.push(quote!(u.param(#wire, &crate::runtime::AsJson(&self.#i));));
            }
        }
        let same_methods = pats.iter().all(|p| p.methods == pats[0].methods);
        let methods_expr = if same_methods {
            let m = &pats[0].methods;
            quote!(&[#(#m),*])
        } else {
            let arms = pats.iter().enumerate().map(|(i, p)| {
                let m = &p.methods;
                quote!(#i => &[#(#m),*])
            });
            quote!(match self.pattern() { #(#arms,)* _ => &[] })
        };
        let pattern_fn = if same_methods {
            quote!()
        } else {
            quote! {
                impl #use_g #req_ident #use_g {
                    fn pattern(&self) -> usize { #(#pchain)else* }
                }
            }
        };
        let has_body = if has_props_body {
            if body_fields.iter().any(|f| !f.optional && f.prop.is_some()) {
                quote!(true)
            } else {
                quote!(!self.body.is_empty())
            }
        } else if let Some(vb) = &value_body {
            let i = &vb.ident;
            if vb.required {
                quote!(true)
            } else {
                quote!(self.#i.is_some())
            }
        } else {
            quote!(false)
        };
        let body_fn = if has_props_body {
            quote! {
                fn body(&self) -> ::core::result::Result<Option<crate::runtime::RequestBody>, crate::runtime::Error> {
                    if #has_body { Ok(Some(crate::runtime::json_body(Self::NAME, &self.body)?)) } else { Ok(None) }
                }
            }
        } else if let Some(vb) = &value_body {
            let i = &vb.ident;
            let make = if bulk {
                quote!(crate::runtime::bulk_body(Self::NAME, b)?)
            } else if ndjson {
                quote!(crate::runtime::ndjson_body(Self::NAME, b)?)
            } else {
                quote!(crate::runtime::json_body(Self::NAME, b)?)
            };
            if vb.required {
                quote! {
                    fn body(&self) -> ::core::result::Result<Option<crate::runtime::RequestBody>, crate::runtime::Error> {
                        let b = &self.#i;
                        Ok(Some(#make))
                    }
                }
            } else {
                quote! {
                    fn body(&self) -> ::core::result::Result<Option<crate::runtime::RequestBody>, crate::runtime::Error> {
                        match &self.#i { Some(b) => Ok(Some(#make)), None => Ok(None) }
                    }
                }
            }
        } else {
            quote!()
        };
        let resp_args: Vec<TokenStream> = rs
            .generics
            .iter()
            .map(|g| {
                let i = format_ident!("{}", g.name);
                quote!(#i)
            })
            .collect();
        let resp_ty = if resp_args.is_empty() {
            quote!(#resp_ident)
        } else {
            quote!(#resp_ident<#(#resp_args),*>)
        };
        let (response_ty, decode, accept) = match &answer {
            Answer::Exists => (
                quote!(bool),
                quote!(crate::runtime::decode_exists(Self::NAME, response, ignored)),
                quote!(),
            ),
            Answer::Json => (
                resp_ty,
                quote!(crate::runtime::decode_json(Self::NAME, response, ignored)),
                quote!(),
            ),
            Answer::Unit => (
                quote!(()),
                quote!(crate::runtime::decode_unit(Self::NAME, response, ignored)),
                quote!(),
            ),
            Answer::Text => (
                quote!(String),
                quote!(crate::runtime::decode_text(Self::NAME, response, ignored)),
                quote!(
                    fn accept(&self) -> &'static str {
                        "text/plain"
                    }
                ),
            ),
            Answer::Bytes(m) => (
                quote!(bytes::Bytes),
                quote!(crate::runtime::decode_bytes(Self::NAME, response, ignored)),
                quote!(fn accept(&self) -> &'static str { #m }),
            ),
        };
        // Bounds: body generics serialize, response generics deserialize.
        let resp_gnames: Vec<String> = rs.generics.iter().map(|g| g.name.clone()).collect();
        let preds: Vec<TokenStream> = all_generics
            .iter()
            .map(|g| {
                let i = format_ident!("{}", g.name);
                let ser = body_gnames.contains(&g.name);
                let de = resp_gnames.contains(&g.name) && matches!(answer, Answer::Json);
                match (ser, de) {
                    (true, true) => quote!(#i: serde::Serialize + serde::de::DeserializeOwned),
                    (true, false) => quote!(#i: serde::Serialize),
                    (false, true) => quote!(#i: serde::de::DeserializeOwned),
                    (false, false) => quote!(#i:),
                }
            })
            .collect();
        let where_clause = if preds.is_empty() {
            quote!()
        } else {
            quote!(where #(#preds),*)
        };
        let name = &e.name;
        items.push((
            format!("{}~endpoint", loc.ident),
            quote! {
                #pattern_fn
                impl #use_g crate::runtime::Endpoint for #req_ident #use_g #where_clause {
                    type Response = #response_ty;
                    const NAME: &'static str = #name;
                    fn method(&self) -> http::Method {
                        crate::runtime::pick_method(#methods_expr, #has_body)
                    }
                    fn url(&self) -> String {
                        let mut u = crate::runtime::UrlBuilder::new();
                        #path_code
                        #(#query_code)*
                        self.common.write_to(&mut u);
                        u.finish()
                    }
                    #body_fn
                    #accept
                    fn decode(response: crate::runtime::RawResponse, ignored: &[u16]) -> ::core::result::Result<Self::Response, crate::runtime::Error> {
                        #decode
                    }
                }
            },
        ));
        items.append(&mut cx.extra);

        // The registry entry.
        let reg = self.registry_entry(e, rq, &query_props, ndjson)?;
        Ok(EndpointOut {
            items,
            registry: reg,
            reexports: vec![loc.ident.clone(), resp_ident_s],
        })
    }

    fn endpoint_doc(&self, e: &Endpoint) -> TokenStream {
        let mut lines = Vec::new();
        let paths: Vec<String> = e
            .urls
            .iter()
            .map(|u| format!("`{} {}`", u.methods.join("|"), u.path))
            .collect();
        lines.push(format!("The `{}` API: {}.", e.name, paths.join(", ")));
        let mut facts = Vec::new();
        if let Some(u) = &e.doc_url {
            facts.push(format!("Reference: <{u}>."));
        }
        facts.push(format!("Stability: {}.", e.stability()));
        let mut avail = Vec::new();
        if let Some(s) = &e.availability.stack {
            avail.push(match &s.since {
                Some(v) => format!("stack since {v}"),
                None => "stack".to_string(),
            });
        }
        if e.availability.serverless.is_some() {
            avail.push("serverless".to_string());
        }
        if !avail.is_empty() {
            facts.push(format!("Available on: {}.", avail.join(", ")));
        }
        if let Some(d) = &e.deprecation {
            facts.push(format!("Deprecated since {}.", d.version));
        }
        lines.push(String::new());
        lines.push(facts.join(" "));
        let docs = lines.iter().map(|l| quote!(#[doc = #l]));
        quote!(#(#docs)*)
    }

    fn registry_entry(
        &self,
        e: &Endpoint,
        rq: &crate::model::Request,
        query: &[Property],
        ndjson: bool,
    ) -> Result<TokenStream> {
        let name = &e.name;
        let paths = e.urls.iter().map(|u| {
            let path = &u.path;
            let methods = &u.methods;
            let parts: Vec<String> = parse_path(&u.path)
                .into_iter()
                .filter_map(|s| match s {
                    Seg::Part(p) => Some(p),
                    Seg::Lit(_) => None,
                })
                .collect();
            let dep = u.deprecation.is_some();
            quote!(PathSpec { path: #path, methods: &[#(#methods),*], parts: &[#(#parts),*], deprecated: #dep })
        });
        let mut params: Vec<TokenStream> = Vec::new();
        for p in query {
            let n = &p.name;
            let k = format_ident!("{}", param_kind(self, &p.ty));
            params.push(quote!((#n, ParamKind::#k)));
        }
        let parts: Vec<TokenStream> = rq
            .path
            .iter()
            .map(|p| {
                let n = &p.name;
                let k = format_ident!("{}", param_kind(self, &p.ty));
                quote!((#n, ParamKind::#k))
            })
            .collect();
        let body = match &rq.body {
            Body::NoBody => quote!(BodyKind::None),
            Body::Properties { properties } if properties.is_empty() && rq.inherits.is_none() => {
                quote!(BodyKind::None)
            }
            _ if ndjson => quote!(BodyKind::Ndjson),
            _ => quote!(BodyKind::Json),
        };
        let required = e.request_body_required;
        let req_media = &e.request_media_type;
        let resp_media = &e.response_media_type;
        let stability = e.stability();
        let visibility = e.visibility();
        let deprecated = e.deprecation.is_some();
        let head = e.urls.iter().all(|u| u.methods.iter().all(|m| m == "HEAD"));
        let feature = crate::resolve::endpoint_feature(&e.name);
        Ok(quote! {
            ApiSpec {
                name: #name,
                feature: #feature,
                paths: &[#(#paths),*],
                parts: &[#(#parts),*],
                params: &[#(#params),*],
                body: #body,
                body_required: #required,
                request_media_types: &[#(#req_media),*],
                response_media_types: &[#(#resp_media),*],
                exists: #head,
                stability: #stability,
                visibility: #visibility,
                deprecated: #deprecated,
            }
        })
    }
}
