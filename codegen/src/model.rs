//! A serde model of the specification's `schema.json` (the metamodel of
//! `@elastic/request-converter`). Unknown `kind`s are decode errors that name their
//! JSON path.

use serde::Deserialize;

/// The whole specification.
#[derive(Debug, Deserialize)]
pub struct Model {
    /// Every type definition.
    pub types: Vec<TypeDef>,
    /// Every endpoint.
    pub endpoints: Vec<Endpoint>,
}

/// A namespaced type name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
pub struct TypeName {
    /// Dot-separated namespace, such as `_types.query_dsl`.
    pub namespace: String,
    /// The simple name.
    pub name: String,
}

impl std::fmt::Display for TypeName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.namespace, self.name)
    }
}

/// The type of a value.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ValueOf {
    /// A named type, possibly with generic arguments.
    InstanceOf {
        /// The referenced type.
        #[serde(rename = "type")]
        ty: TypeName,
        /// Generic arguments.
        #[serde(default)]
        generics: Vec<ValueOf>,
    },
    /// An array.
    ArrayOf {
        /// The element type.
        value: Box<ValueOf>,
    },
    /// One of several types.
    UnionOf {
        /// The members.
        items: Vec<ValueOf>,
    },
    /// A map.
    DictionaryOf {
        /// The key type.
        key: Box<ValueOf>,
        /// The value type.
        value: Box<ValueOf>,
        /// Whether the map holds exactly one entry.
        #[serde(rename = "singleKey", default)]
        single_key: bool,
    },
    /// Arbitrary user JSON.
    UserDefinedValue,
    /// A literal.
    LiteralValue {
        /// The literal value.
        value: serde_json::Value,
    },
}

/// A deprecation notice (its prose is never copied).
#[derive(Debug, Clone, Deserialize)]
pub struct Deprecation {
    /// The version that deprecated the item.
    pub version: String,
}

/// A property of an interface, request or response.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Property {
    /// The wire name.
    pub name: String,
    /// The value type.
    #[serde(rename = "type")]
    pub ty: ValueOf,
    /// Whether the property must be present.
    #[serde(default)]
    pub required: bool,
    /// Deprecation.
    pub deprecation: Option<Deprecation>,
    /// A preferred identifier.
    pub codegen_name: Option<String>,
    /// Alternative wire names accepted on input.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// A property of a variant container that is not a variant.
    #[serde(default)]
    pub container_property: bool,
}

/// An `extends`/behaviour clause.
#[derive(Debug, Clone, Deserialize)]
pub struct Inherits {
    /// The parent type.
    #[serde(rename = "type")]
    pub ty: TypeName,
    /// Generic arguments.
    #[serde(default)]
    pub generics: Vec<ValueOf>,
    /// Behaviour metadata (`fieldname`, `key`, `value`).
    #[serde(default)]
    pub meta: std::collections::BTreeMap<String, String>,
}

/// How a union or container is tagged.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Variants {
    /// A variant container: one key names the variant.
    Container {
        /// Open to plugin variants.
        #[serde(rename = "nonExhaustive", default)]
        non_exhaustive: bool,
    },
    /// A property inside the object names the variant.
    InternalTag {
        /// The tag property.
        tag: String,
        /// The variant used when the tag is missing.
        #[serde(rename = "defaultTag")]
        default_tag: Option<String>,
        /// Open to other variants.
        #[serde(rename = "nonExhaustive", default)]
        non_exhaustive: bool,
    },
    /// The variant name is carried outside the object (typed keys).
    ExternalTag {
        /// Open to other variants.
        #[serde(rename = "nonExhaustive", default)]
        non_exhaustive: bool,
    },
    /// No tag; an untyped variant catches the rest.
    Untagged {
        /// The catch-all member.
        #[serde(rename = "untypedVariant")]
        untyped_variant: TypeName,
    },
}

/// A request or response body.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Body {
    /// One value.
    Value {
        /// Its type.
        value: ValueOf,
        /// A preferred identifier.
        #[serde(rename = "codegenName")]
        codegen_name: Option<String>,
    },
    /// An object with properties.
    Properties {
        /// The properties.
        properties: Vec<Property>,
    },
    /// No body.
    NoBody,
}

/// An enumeration member.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EnumMember {
    /// The wire value.
    pub name: String,
    /// Alternative wire values accepted on input.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// A preferred identifier.
    pub codegen_name: Option<String>,
    /// Deprecation.
    pub deprecation: Option<Deprecation>,
}

/// A type definition.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum TypeDef {
    /// An object type.
    Interface(Interface),
    /// A request.
    Request(Request),
    /// A response.
    Response(Response),
    /// An enumeration.
    Enum(Enum),
    /// An alias.
    TypeAlias(TypeAlias),
}

impl TypeDef {
    /// The definition's name.
    pub fn name(&self) -> &TypeName {
        match self {
            TypeDef::Interface(t) => &t.name,
            TypeDef::Request(t) => &t.name,
            TypeDef::Response(t) => &t.name,
            TypeDef::Enum(t) => &t.name,
            TypeDef::TypeAlias(t) => &t.name,
        }
    }
}

/// An object type.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Interface {
    /// Its name.
    pub name: TypeName,
    /// Open generic parameters.
    #[serde(default)]
    pub generics: Vec<TypeName>,
    /// The parent.
    pub inherits: Option<Inherits>,
    /// Behaviours.
    #[serde(default)]
    pub behaviors: Vec<Inherits>,
    /// Own properties.
    #[serde(default)]
    pub properties: Vec<Property>,
    /// The property that stands for the whole object when given alone.
    pub shortcut_property: Option<String>,
    /// Set on variant containers.
    pub variants: Option<Variants>,
    /// Deprecation.
    pub deprecation: Option<Deprecation>,
    /// The tag of this type in an externally tagged union.
    pub variant_name: Option<String>,
    /// Reference documentation.
    pub ext_doc_url: Option<String>,
}

/// A request.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// Its name.
    pub name: TypeName,
    /// Open generic parameters.
    #[serde(default)]
    pub generics: Vec<TypeName>,
    /// Parent with extra body properties.
    pub inherits: Option<Inherits>,
    /// Path parts.
    #[serde(default)]
    pub path: Vec<Property>,
    /// Query parameters.
    #[serde(default)]
    pub query: Vec<Property>,
    /// The body.
    pub body: Body,
    /// Behaviours, including inherited ones.
    #[serde(default)]
    pub attached_behaviors: Vec<String>,
}

/// A response.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    /// Its name.
    pub name: TypeName,
    /// Open generic parameters.
    #[serde(default)]
    pub generics: Vec<TypeName>,
    /// The body.
    pub body: Body,
    /// Parent.
    pub inherits: Option<Inherits>,
}

/// An enumeration.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Enum {
    /// Its name.
    pub name: TypeName,
    /// Members.
    pub members: Vec<EnumMember>,
    /// Deprecation.
    pub deprecation: Option<Deprecation>,
}

/// An alias.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TypeAlias {
    /// Its name.
    pub name: TypeName,
    /// The aliased type.
    #[serde(rename = "type")]
    pub ty: ValueOf,
    /// Open generic parameters.
    #[serde(default)]
    pub generics: Vec<TypeName>,
    /// Tagging of a union alias.
    pub variants: Option<Variants>,
    /// Deprecation.
    pub deprecation: Option<Deprecation>,
}

/// Stack/serverless availability.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Availabilities {
    /// On the stack.
    pub stack: Option<Availability>,
    /// On serverless.
    pub serverless: Option<Availability>,
}

/// Availability in one flavour.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Availability {
    /// Since version.
    pub since: Option<String>,
    /// Stability there.
    pub stability: Option<String>,
    /// Visibility there.
    pub visibility: Option<String>,
}

/// A URL template.
#[derive(Debug, Clone, Deserialize)]
pub struct UrlTemplate {
    /// The path, with `{part}` placeholders.
    pub path: String,
    /// Allowed methods, in preference order.
    pub methods: Vec<String>,
    /// Deprecation of this path.
    pub deprecation: Option<Deprecation>,
}

/// An endpoint.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// The API name, such as `indices.create`.
    pub name: String,
    /// Reference documentation.
    pub doc_url: Option<String>,
    /// Deprecation.
    pub deprecation: Option<Deprecation>,
    /// Availability.
    #[serde(default)]
    pub availability: Availabilities,
    /// The request type.
    pub request: Option<TypeName>,
    /// Whether a body is required.
    #[serde(default)]
    pub request_body_required: bool,
    /// The response type.
    pub response: Option<TypeName>,
    /// URL templates.
    pub urls: Vec<UrlTemplate>,
    /// Version of the current stability level.
    pub since: Option<String>,
    /// Stability.
    pub stability: Option<String>,
    /// Visibility.
    pub visibility: Option<String>,
    /// Request media types.
    #[serde(default)]
    pub request_media_type: Vec<String>,
    /// Response media types.
    #[serde(default)]
    pub response_media_type: Vec<String>,
    /// Excluded from code generation.
    #[serde(default)]
    pub codegen_exclude: bool,
}

impl Endpoint {
    /// The endpoint's visibility on the stack (public when unstated).
    pub fn visibility(&self) -> &str {
        self.visibility
            .as_deref()
            .or_else(|| self.availability.stack.as_ref()?.visibility.as_deref())
            .unwrap_or("public")
    }

    /// The endpoint's stability.
    pub fn stability(&self) -> &str {
        self.stability
            .as_deref()
            .or_else(|| self.availability.stack.as_ref()?.stability.as_deref())
            .or_else(|| self.availability.serverless.as_ref()?.stability.as_deref())
            .unwrap_or("stable")
    }

    /// Whether the endpoint is generated: public and not excluded.
    pub fn is_generated(&self) -> bool {
        !self.codegen_exclude && self.visibility() == "public"
    }
}
