//! The resolved model: which types are generated, where each lives (module path and
//! identifier), which Cargo feature gates it, and which references must be boxed.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use anyhow::{anyhow, bail, Result};

use crate::model::{Body, Endpoint, Interface, Property, TypeDef, TypeName, ValueOf, Variants};
use crate::names::{pascal, snake};

/// Where a generated type lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loc {
    /// Module path below the generated root, such as `["types", "query_dsl"]`.
    pub module: Vec<String>,
    /// The Rust identifier.
    pub ident: String,
}

/// Types the generator maps to Rust or runtime types instead of emitting them.
pub fn is_special(t: &TypeName) -> bool {
    match t.namespace.as_str() {
        "_builtins" => true,
        "_types" => matches!(
            t.name.as_str(),
            "long"
                | "integer"
                | "short"
                | "byte"
                | "uint"
                | "ulong"
                | "float"
                | "double"
                | "Duration"
        ),
        "_spec_utils" => matches!(
            t.name.as_str(),
            "Stringified" | "WithNullValue" | "PipeSeparatedFlags" | "NullValue" | "Void"
        ),
        _ => false,
    }
}

/// The top namespace of a spec namespace.
pub fn top(ns: &str) -> &str {
    ns.split('.').next().unwrap_or(ns)
}

/// The Cargo feature of a top namespace.
pub fn feature_of(top_ns: &str) -> String {
    match top_ns {
        "_global" => "root".to_string(),
        other => other.to_string(),
    }
}

/// The feature of an endpoint by its API name.
pub fn endpoint_feature(name: &str) -> String {
    match name.split_once('.') {
        Some((ns, _)) => feature_of(ns),
        None => "root".to_string(),
    }
}

/// The module path of a spec namespace.
pub fn module_of(ns: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, seg) in ns.split('.').enumerate() {
        if i == 0 {
            match seg {
                "_types" => out.push("types".to_string()),
                "_global" => out.push("root".to_string()),
                "_spec_utils" => {
                    out.push("types".to_string());
                    out.push("spec_utils".to_string());
                }
                other => out.push(snake(other)),
            }
        } else if seg != "_types" {
            out.push(snake(seg));
        }
    }
    out
}

/// Walks a value, calling `f` on every named type it mentions.
pub fn visit_refs(v: &ValueOf, f: &mut dyn FnMut(&TypeName)) {
    match v {
        ValueOf::InstanceOf { ty, generics } => {
            f(ty);
            for g in generics {
                visit_refs(g, f);
            }
        }
        ValueOf::ArrayOf { value } => visit_refs(value, f),
        ValueOf::UnionOf { items } => {
            for i in items {
                visit_refs(i, f);
            }
        }
        ValueOf::DictionaryOf { key, value, .. } => {
            visit_refs(key, f);
            visit_refs(value, f);
        }
        ValueOf::UserDefinedValue | ValueOf::LiteralValue { .. } => {}
    }
}

/// Named types held inline (not behind a `Vec` or map).
pub fn direct_refs(v: &ValueOf, out: &mut Vec<TypeName>) {
    match v {
        ValueOf::InstanceOf { ty, generics } => {
            out.push(ty.clone());
            for g in generics {
                direct_refs(g, out);
            }
        }
        ValueOf::ArrayOf { .. } => {}
        ValueOf::UnionOf { items } => {
            for i in items {
                direct_refs(i, out);
            }
        }
        ValueOf::DictionaryOf {
            value, single_key, ..
        } => {
            if *single_key {
                direct_refs(value, out);
            }
        }
        ValueOf::UserDefinedValue | ValueOf::LiteralValue { .. } => {}
    }
}

/// Replaces generic parameters by their arguments.
pub fn subst(v: &ValueOf, map: &HashMap<TypeName, ValueOf>) -> ValueOf {
    match v {
        ValueOf::InstanceOf { ty, generics } => {
            if generics.is_empty() {
                if let Some(r) = map.get(ty) {
                    return r.clone();
                }
            }
            ValueOf::InstanceOf {
                ty: ty.clone(),
                generics: generics.iter().map(|g| subst(g, map)).collect(),
            }
        }
        ValueOf::ArrayOf { value } => ValueOf::ArrayOf {
            value: Box::new(subst(value, map)),
        },
        ValueOf::UnionOf { items } => ValueOf::UnionOf {
            items: items.iter().map(|i| subst(i, map)).collect(),
        },
        ValueOf::DictionaryOf {
            key,
            value,
            single_key,
        } => ValueOf::DictionaryOf {
            key: Box::new(subst(key, map)),
            value: Box::new(subst(value, map)),
            single_key: *single_key,
        },
        other => other.clone(),
    }
}

/// An additional-properties behaviour: a flattened map field.
#[derive(Debug, Clone)]
pub struct FlatMap {
    /// The field name.
    pub field: String,
    /// The key type.
    pub key: ValueOf,
    /// The value type.
    pub value: ValueOf,
}

/// The resolved specification.
#[allow(missing_debug_implementations)]
pub struct Resolved<'a> {
    /// Every definition by name.
    pub defs: BTreeMap<TypeName, &'a TypeDef>,
    /// Generated endpoints, sorted by name.
    pub endpoints: Vec<&'a Endpoint>,
    /// Generated types and where they live.
    pub loc: BTreeMap<TypeName, Loc>,
    /// The feature gating each generated type (`None`: always compiled).
    pub gate: BTreeMap<TypeName, Option<String>>,
    /// Strongly connected component of each type.
    scc: HashMap<TypeName, usize>,
    /// Types that refer to themselves directly.
    self_loop: HashSet<TypeName>,
    /// Types reachable from request inputs: they get setters.
    pub input: BTreeSet<TypeName>,
    /// Internally tagged union members and the tag property to leave out.
    pub tag_skip: HashMap<TypeName, String>,
    /// Externally tagged union aliases (typed keys).
    pub external: BTreeSet<TypeName>,
    /// Feature dependencies.
    pub feature_deps: BTreeMap<String, BTreeSet<String>>,
    /// Request type → endpoint.
    pub endpoint_of: HashMap<TypeName, &'a Endpoint>,
}

impl<'a> Resolved<'a> {
    /// Resolves the model.
    pub fn new(model: &'a crate::model::Model) -> Result<Self> {
        let mut defs = BTreeMap::new();
        for t in &model.types {
            if defs.insert(t.name().clone(), t).is_some() {
                bail!("type {} is defined twice", t.name());
            }
        }
        let mut endpoints: Vec<&Endpoint> = model
            .endpoints
            .iter()
            .filter(|e| e.is_generated())
            .collect();
        endpoints.sort_by(|a, b| a.name.cmp(&b.name));
        let mut r = Resolved {
            defs,
            endpoints,
            loc: BTreeMap::new(),
            gate: BTreeMap::new(),
            scc: HashMap::new(),
            self_loop: HashSet::new(),
            input: BTreeSet::new(),
            tag_skip: HashMap::new(),
            external: BTreeSet::new(),
            feature_deps: BTreeMap::new(),
            endpoint_of: HashMap::new(),
        };
        r.reach()?;
        r.place()?;
        r.gates();
        r.sccs();
        r.tags();
        Ok(r)
    }

    /// The definition of `t`, or an error naming where it was referenced.
    pub fn def(&self, t: &TypeName, context: &str) -> Result<&'a TypeDef> {
        self.defs
            .get(t)
            .copied()
            .ok_or_else(|| anyhow!("{context}: dangling type reference {t}"))
    }

    /// Every type a definition refers to (for reachability).
    fn refs_of(&self, def: &TypeDef) -> Vec<TypeName> {
        let mut out = Vec::new();
        let mut add = |v: &ValueOf| visit_refs(v, &mut |t| out.push(t.clone()));
        let inh = |i: &crate::model::Inherits, add: &mut dyn FnMut(&ValueOf)| {
            for g in &i.generics {
                add(g);
            }
        };
        match def {
            TypeDef::Interface(i) => {
                for p in &i.properties {
                    add(&p.ty);
                }
                if let Some(p) = &i.inherits {
                    add(&ValueOf::InstanceOf {
                        ty: p.ty.clone(),
                        generics: vec![],
                    });
                    inh(p, &mut add);
                }
                for b in &i.behaviors {
                    inh(b, &mut add);
                }
            }
            TypeDef::Request(rq) => {
                for p in rq.path.iter().chain(&rq.query) {
                    add(&p.ty);
                }
                if let Some(p) = &rq.inherits {
                    add(&ValueOf::InstanceOf {
                        ty: p.ty.clone(),
                        generics: vec![],
                    });
                    inh(p, &mut add);
                }
                body_refs(&rq.body, &mut add);
            }
            TypeDef::Response(rs) => {
                body_refs(&rs.body, &mut add);
                if let Some(p) = &rs.inherits {
                    add(&ValueOf::InstanceOf {
                        ty: p.ty.clone(),
                        generics: vec![],
                    });
                    inh(p, &mut add);
                }
            }
            TypeDef::Enum(_) => {}
            TypeDef::TypeAlias(a) => {
                add(&a.ty);
                if let Some(Variants::Untagged { untyped_variant }) = &a.variants {
                    out.push(untyped_variant.clone());
                }
            }
        }
        out
    }

    fn reach(&mut self) -> Result<()> {
        let mut stack: Vec<(TypeName, String)> = Vec::new();
        for e in &self.endpoints {
            let (Some(rq), Some(rs)) = (&e.request, &e.response) else {
                bail!("endpoint {} has no request or response type", e.name);
            };
            stack.push((rq.clone(), format!("endpoint {}", e.name)));
            stack.push((rs.clone(), format!("endpoint {}", e.name)));
        }
        // Cat requests take the common cat parameters (a behaviour).
        let cat = TypeName {
            namespace: "_spec_utils".into(),
            name: "CommonCatQueryParameters".into(),
        };
        if self.defs.contains_key(&cat) {
            stack.push((cat, "cat parameters".into()));
        }
        for e in self.endpoints.clone() {
            if let Some(rq) = &e.request {
                self.endpoint_of.insert(rq.clone(), e);
            }
        }
        let mut seen = BTreeSet::new();
        while let Some((t, from)) = stack.pop() {
            if is_special(&t) || !seen.insert(t.clone()) {
                continue;
            }
            let def = match self.defs.get(&t) {
                Some(d) => *d,
                None => {
                    // Generic parameters are named types without a definition.
                    if self.is_generic_param(&t) {
                        continue;
                    }
                    bail!("{from}: dangling type reference {t}");
                }
            };
            for r in self.refs_of(def) {
                stack.push((r, format!("type {t}")));
            }
            self.loc.insert(
                t.clone(),
                Loc {
                    module: vec![],
                    ident: String::new(),
                },
            );
        }
        // Input closure: from request types.
        let mut stack: Vec<TypeName> = self
            .endpoints
            .iter()
            .filter_map(|e| e.request.clone())
            .collect();
        while let Some(t) = stack.pop() {
            if !self.loc.contains_key(&t) || !self.input.insert(t.clone()) {
                continue;
            }
            let def = self.defs[&t];
            stack.extend(self.refs_of(def));
        }
        Ok(())
    }

    /// Whether `t` names an open generic parameter of some definition.
    pub fn is_generic_param(&self, t: &TypeName) -> bool {
        // Generic parameters live in a namespace named after their owner
        // (`_global.search.Response`), which is a definition, not a namespace.
        let Some((ns, name)) = t.namespace.rsplit_once('.') else {
            return false;
        };
        let owner = TypeName {
            namespace: ns.to_string(),
            name: name.to_string(),
        };
        match self.defs.get(&owner) {
            Some(TypeDef::Interface(i)) => i.generics.contains(t),
            Some(TypeDef::Request(i)) => i.generics.contains(t),
            Some(TypeDef::Response(i)) => i.generics.contains(t),
            Some(TypeDef::TypeAlias(i)) => i.generics.contains(t),
            _ => false,
        }
    }

    /// The identifier of a generated type.
    fn ident_for(&self, t: &TypeName) -> String {
        let def = self.defs[t];
        let last = t.namespace.rsplit('.').next().unwrap_or("");
        match def {
            TypeDef::Request(_) => format!("{}Request", pascal(last)),
            TypeDef::Response(_) => format!("{}Response", pascal(last)),
            TypeDef::Interface(i) if matches!(i.variants, Some(Variants::Container { .. })) => {
                let stripped = container_ident(&t.name);
                let clash = self.loc.keys().any(|o| {
                    o != t
                        && o.name == stripped
                        && module_of(&o.namespace) == module_of(&t.namespace)
                });
                if clash {
                    t.name.clone()
                } else {
                    stripped
                }
            }
            _ => t.name.clone(),
        }
    }

    fn place(&mut self) -> Result<()> {
        let mut taken: BTreeMap<(Vec<String>, String), TypeName> = BTreeMap::new();
        let names: Vec<TypeName> = self.loc.keys().cloned().collect();
        for t in names {
            let module = module_of(&t.namespace);
            let ident = self.ident_for(&t);
            let mut idents = vec![ident.clone()];
            if let TypeDef::Interface(i) = self.defs[&t] {
                if is_split_container(i) {
                    idents.push(format!("{}Kind", container_ident(&t.name)));
                }
            }
            for id in idents {
                if let Some(other) = taken.insert((module.clone(), id.clone()), t.clone()) {
                    bail!(
                        "name collision after case conversion: {other} and {t} both map to {}::{id}",
                        module.join("::")
                    );
                }
            }
            self.loc.insert(t, Loc { module, ident });
        }
        // Re-exported request/response names must not collide in the parent module.
        for e in &self.endpoints {
            for t in [&e.request, &e.response].into_iter().flatten() {
                let loc = &self.loc[t];
                let parent = loc.module[..loc.module.len() - 1].to_vec();
                if let Some(other) = taken.get(&(parent.clone(), loc.ident.clone())) {
                    bail!(
                        "name collision: {t} is re-exported as {}::{} which {other} already uses",
                        parent.join("::"),
                        loc.ident
                    );
                }
            }
        }
        Ok(())
    }

    fn gates(&mut self) {
        // Base: everything reachable from the always-compiled shared namespaces.
        let mut base = BTreeSet::new();
        let mut stack: Vec<TypeName> = self
            .loc
            .keys()
            .filter(|t| matches!(top(&t.namespace), "_types" | "_spec_utils"))
            .cloned()
            .collect();
        while let Some(t) = stack.pop() {
            if !self.loc.contains_key(&t) || !base.insert(t.clone()) {
                continue;
            }
            stack.extend(self.refs_of(self.defs[&t]));
        }
        for t in self.loc.keys() {
            let g = if base.contains(t) {
                None
            } else {
                Some(feature_of(top(&t.namespace)))
            };
            self.gate.insert(t.clone(), g);
        }
        let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for e in &self.endpoints {
            deps.entry(endpoint_feature(&e.name)).or_default();
        }
        for (t, g) in &self.gate {
            let Some(f) = g else { continue };
            for r in self.refs_of(self.defs[t]) {
                if let Some(Some(f2)) = self.gate.get(&r) {
                    if f2 != f {
                        deps.entry(f.clone()).or_default().insert(f2.clone());
                    }
                }
            }
            deps.entry(f.clone()).or_default();
        }
        self.feature_deps = deps;
    }

    /// The effective properties of an interface: inherited ones (generics
    /// substituted) overridden by its own, plus additional-properties behaviours.
    pub fn effective(&self, i: &Interface) -> Result<(Vec<Property>, Vec<FlatMap>)> {
        let mut props: Vec<Property> = Vec::new();
        let mut flats: Vec<FlatMap> = Vec::new();
        if let Some(parent) = &i.inherits {
            self.inherit_into(parent, &mut props, &mut flats, &i.name.to_string())?;
        }
        for p in &i.properties {
            if let Some(slot) = props.iter_mut().find(|q| q.name == p.name) {
                *slot = p.clone();
            } else {
                props.push(p.clone());
            }
        }
        for b in &i.behaviors {
            add_behavior(b, &mut flats);
        }
        Ok((props, flats))
    }

    /// Adds the properties of `parent` (with generic arguments applied).
    pub fn inherit_into(
        &self,
        parent: &crate::model::Inherits,
        props: &mut Vec<Property>,
        flats: &mut Vec<FlatMap>,
        context: &str,
    ) -> Result<()> {
        let def = self.def(&parent.ty, context)?;
        let TypeDef::Interface(pi) = def else {
            bail!("{context}: parent {} is not an interface", parent.ty);
        };
        let (pp, pf) = self.effective(pi)?;
        let map: HashMap<TypeName, ValueOf> = pi
            .generics
            .iter()
            .cloned()
            .zip(parent.generics.iter().cloned())
            .collect();
        for mut p in pp {
            p.ty = subst(&p.ty, &map);
            props.push(p);
        }
        for mut f in pf {
            f.key = subst(&f.key, &map);
            f.value = subst(&f.value, &map);
            if !flats.iter().any(|g| g.field == f.field) {
                flats.push(f);
            }
        }
        Ok(())
    }

    /// Direct edges of a definition for recursion analysis.
    fn direct_of(&self, def: &TypeDef) -> Vec<TypeName> {
        let mut out = Vec::new();
        match def {
            TypeDef::Interface(i) => {
                if let Ok((props, _)) = self.effective(i) {
                    for p in props {
                        direct_refs(&p.ty, &mut out);
                    }
                }
            }
            TypeDef::TypeAlias(a) => direct_refs(&a.ty, &mut out),
            TypeDef::Request(_) | TypeDef::Response(_) | TypeDef::Enum(_) => {}
        }
        out.retain(|t| self.loc.contains_key(t));
        out
    }

    fn sccs(&mut self) {
        let nodes: Vec<TypeName> = self.loc.keys().cloned().collect();
        let index_of: HashMap<&TypeName, usize> =
            nodes.iter().enumerate().map(|(i, t)| (t, i)).collect();
        let edges: Vec<Vec<usize>> = nodes
            .iter()
            .map(|t| {
                self.direct_of(self.defs[t])
                    .iter()
                    .filter_map(|r| index_of.get(r).copied())
                    .collect()
            })
            .collect();
        for (i, e) in edges.iter().enumerate() {
            if e.contains(&i) {
                self.self_loop.insert(nodes[i].clone());
            }
        }
        // Iterative Tarjan.
        let n = nodes.len();
        let mut index = vec![usize::MAX; n];
        let mut low = vec![0; n];
        let mut on = vec![false; n];
        let mut st = Vec::new();
        let mut comp = vec![usize::MAX; n];
        let mut next = 0;
        let mut ncomp = 0;
        for root in 0..n {
            if index[root] != usize::MAX {
                continue;
            }
            let mut work: Vec<(usize, usize)> = vec![(root, 0)];
            while let Some(&mut (v, ref mut ei)) = work.last_mut() {
                if *ei == 0 && index[v] == usize::MAX {
                    index[v] = next;
                    low[v] = next;
                    next += 1;
                    st.push(v);
                    on[v] = true;
                }
                if *ei < edges[v].len() {
                    let w = edges[v][*ei];
                    *ei += 1;
                    if index[w] == usize::MAX {
                        work.push((w, 0));
                    } else if on[w] {
                        low[v] = low[v].min(index[w]);
                    }
                } else {
                    work.pop();
                    if let Some(&(p, _)) = work.last() {
                        low[p] = low[p].min(low[v]);
                    }
                    if low[v] == index[v] {
                        loop {
                            let w = st.pop().unwrap_or(v);
                            on[w] = false;
                            comp[w] = ncomp;
                            if w == v {
                                break;
                            }
                        }
                        ncomp += 1;
                    }
                }
            }
        }
        let mut size = vec![0usize; ncomp];
        for c in &comp {
            size[*c] += 1;
        }
        for (i, t) in nodes.iter().enumerate() {
            // Singletons without a self loop are not recursive.
            if size[comp[i]] > 1 {
                self.scc.insert(t.clone(), comp[i]);
            }
        }
    }

    /// Whether a value held inline by `owner` closes a recursive cycle (and so must be boxed).
    pub fn needs_box(&self, owner: &TypeName, v: &ValueOf) -> bool {
        let mut refs = Vec::new();
        direct_refs(v, &mut refs);
        refs.iter().any(|t| {
            (t == owner && self.self_loop.contains(owner))
                || (self.scc.contains_key(owner) && self.scc.get(t) == self.scc.get(owner))
        })
    }

    fn tags(&mut self) {
        for (t, d) in &self.defs {
            if !self.loc.contains_key(t) {
                continue;
            }
            if let TypeDef::TypeAlias(a) = d {
                match &a.variants {
                    Some(Variants::InternalTag { tag, .. }) => {
                        if let ValueOf::UnionOf { items } = &a.ty {
                            for i in items {
                                if let ValueOf::InstanceOf { ty, .. } = i {
                                    self.tag_skip.insert(ty.clone(), tag.clone());
                                }
                            }
                        }
                    }
                    Some(Variants::ExternalTag { .. }) => {
                        self.external.insert(t.clone());
                    }
                    _ => {}
                }
            }
        }
    }
}

fn body_refs(b: &Body, add: &mut dyn FnMut(&ValueOf)) {
    match b {
        Body::Value { value, .. } => add(value),
        Body::Properties { properties } => {
            for p in properties {
                add(&p.ty);
            }
        }
        Body::NoBody => {}
    }
}

/// Adds an additional-properties behaviour as a flattened map.
pub fn add_behavior(b: &crate::model::Inherits, flats: &mut Vec<FlatMap>) {
    let (field, ok) = match b.ty.name.as_str() {
        "AdditionalProperties" => (
            b.meta
                .get("fieldname")
                .cloned()
                .unwrap_or_else(|| "additional_properties".into()),
            true,
        ),
        "AdditionalProperty" => (
            b.meta
                .get("value")
                .cloned()
                .unwrap_or_else(|| "values".into()),
            true,
        ),
        _ => (String::new(), false),
    };
    if ok && b.generics.len() == 2 && !flats.iter().any(|f| f.field == field) {
        flats.push(FlatMap {
            field,
            key: b.generics[0].clone(),
            value: b.generics[1].clone(),
        });
    }
}

/// Containers with properties that are not variants become a struct plus a `…Kind` enum.
pub fn is_split_container(i: &Interface) -> bool {
    matches!(i.variants, Some(Variants::Container { .. }))
        && (i.inherits.is_some() || i.properties.iter().any(|p| p.container_property))
}

/// `QueryContainer` → `Query`.
pub fn container_ident(name: &str) -> String {
    match name.strip_suffix("Container") {
        Some(s) if !s.is_empty() => s.to_string(),
        _ => name.to_string(),
    }
}
