//! Tools: plain functions the model may call, made by `#[tool]`.
//!
//! A tool's parameters are its owned arguments: each is read from the
//! model's JSON arguments by its type ([`ToolParam`]: `Deserialize` and
//! `JsonSchema`), and the JSON Schema sent to the model is derived from
//! the same types ([`parameters_schema`]). Its arguments taken by
//! reference are the run's data, injected by type as a hook's are
//! ([`FromToolArgs`]: `&Session`, `&RunContext`, `&AgentInfo`, an
//! extension of the program's own). What it returns becomes the text the
//! model reads ([`IntoToolOutput`]); an error is returned to the model as
//! its text, as Agno does.
//!
//! ```
//! use hooks_core::{Tool, tool};
//!
//! /// Adds two numbers.
//! ///
//! /// # Arguments
//! /// * `a` - The first number.
//! /// * `b` - The second number.
//! #[tool]
//! fn add(a: i64, b: i64) -> i64 {
//!     a + b
//! }
//!
//! let schema = add.parameters();
//! assert_eq!(schema["required"], serde_json::json!(["a", "b"]));
//! assert_eq!(schema["properties"]["a"]["description"], "The first number.");
//! assert_eq!(add.meta().description, Some("Adds two numbers."));
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use schemars::{JsonSchema, SchemaGenerator, generate::SchemaSettings};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{AnyPhase, FromHookArgs, HookArgs};

/// What the runtime knows of a tool, fixed at compile time (Agno's
/// `@tool` options that we support).
#[derive(Debug, Clone, Copy)]
pub struct ToolMeta {
    /// The name the model calls it by (default: the function's).
    pub name: &'static str,
    /// What it does: the doc comment's text before `# Arguments`, or
    /// `description = "..."`.
    pub description: Option<&'static str>,
    /// OpenAI's strict mode: every property required, no other property,
    /// `"strict": true` sent with the definition.
    pub strict: bool,
    /// The run ends on this tool's result: no model call after it (and its
    /// result is the run's content).
    pub stop_after_tool_call: bool,
    /// Its result is also the run's content (streamed as content).
    pub show_result: bool,
    /// Whether the function is `async`.
    pub is_async: bool,
    /// `module_path!()` where it is defined.
    pub module_path: &'static str,
    /// The source file, relative to its crate.
    pub file: &'static str,
    /// The line of the function's name.
    pub line: u32,
}

/// The future a tool's call returns.
pub type ToolFuture<'a> = Pin<Box<dyn Future<Output = Result<String, ToolError>> + Send + 'a>>;

/// A tool, as `#[tool]` makes one of a function (a unit struct of the
/// function's name).
pub trait Tool: Send + Sync + 'static {
    /// Its metadata.
    fn meta(&self) -> &'static ToolMeta;

    /// The JSON Schema of its parameters: an object, `$ref`s inlined,
    /// strict as [`ToolMeta::strict`] says.
    fn parameters(&self) -> Value;

    /// Calls it with the model's `arguments` (a JSON object), drawing its
    /// injected arguments from `run`.
    fn call<'a>(&'a self, arguments: Map<String, Value>, run: HookArgs<'a>) -> ToolFuture<'a>;

    /// Its own tool hooks (`#[tool(hooks = ...)]`): they run around each
    /// of its calls, after the agent's tool hooks.
    fn hooks(&self) -> Vec<crate::HookRef> {
        Vec::new()
    }

    /// Its own post-tool hooks (`#[tool(post_hooks = ...)]`): they run
    /// after each of its calls, after the agent's post-tool hooks.
    fn post_hooks(&self) -> Vec<crate::HookRef> {
        Vec::new()
    }
}

/// A shared handle to a tool, as an agent holds its tools.
pub type ToolRef = Arc<dyn Tool>;

impl fmt::Debug for dyn Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tool").field("meta", self.meta()).finish()
    }
}

/// Why a tool call did not give a result. Its text is what the model gets
/// back (`tool_call_error: true`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolError {
    /// The model's arguments do not fit the parameters.
    #[error("Invalid arguments for tool {tool}: {reason}")]
    InvalidArguments {
        /// The tool.
        tool: &'static str,
        /// What does not fit.
        reason: String,
    },
    /// An argument to inject was not available in this run.
    #[error("Tool {tool} could not run: {reason}")]
    Unavailable {
        /// The tool.
        tool: &'static str,
        /// Why.
        reason: String,
    },
    /// The tool returned an error (its `Display` text).
    #[error("{0}")]
    Failed(String),
    /// The tool ran past the agent's `tool_timeout` and was stopped.
    #[error("Tool {tool} timed out after {limit:?} and was stopped.")]
    TimedOut {
        /// The tool.
        tool: &'static str,
        /// Its limit.
        limit: std::time::Duration,
    },
}

/// A type a tool's parameter can have: the model's JSON deserializes
/// into it, and it has a JSON Schema.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool parameter",
    label = "the model's arguments cannot be read into this type",
    note = "a tool parameter is read from the model's JSON arguments and described to it by a JSON Schema: derive both for your type, `#[derive(serde::Deserialize, schemars::JsonSchema)]`",
    note = "to take the run's data instead (`&Session`, `&RunContext`, `&AgentInfo`, ...), take it by reference"
)]
pub trait ToolParam: Sized {
    /// Its schema, from `generator` (subschemas inlined).
    fn schema(generator: &mut SchemaGenerator) -> Value;
    /// Whether the model must send it: not when JSON `null` reads as a
    /// value of the type (`Option<T>`), which is what a missing argument
    /// is read as.
    fn required() -> bool;
    /// Reads it from the model's value (`Null` when absent).
    fn from_argument(value: Value) -> Result<Self, serde_json::Error>;
}

impl<T: DeserializeOwned + JsonSchema> ToolParam for T {
    fn schema(generator: &mut SchemaGenerator) -> Value {
        generator.subschema_for::<T>().to_value()
    }

    fn required() -> bool {
        serde_json::from_value::<T>(Value::Null).is_err()
    }

    fn from_argument(value: Value) -> Result<Self, serde_json::Error> {
        serde_json::from_value(value)
    }
}

/// A type a tool can take by reference from the run: any hook argument
/// that exists in every phase ([`FromHookArgs`] with [`AnyPhase`]).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be injected into a tool",
    label = "a tool's arguments taken by reference are the run's data, injected by type",
    note = "the injected ones are `&RunInput`, `&AgentInfo`, `&Session`, `&RunContext`, `&RunId`, `&UserId`, `&Identity`, `&ExtraFields`, and your own types implementing `FromHookArgs`",
    note = "a parameter the model sends is an owned value: `String`, not `&str`"
)]
pub trait FromToolArgs<'a>: Sized {
    /// Draws it from the run.
    fn from_tool_args(args: &HookArgs<'a>) -> Result<Self, crate::HookError>;
}

impl<'a, T> FromToolArgs<'a> for T
where
    T: FromHookArgs<'a, Available = AnyPhase>,
{
    fn from_tool_args(args: &HookArgs<'a>) -> Result<Self, crate::HookError> {
        T::from_hook_args(args)
    }
}

/// What a tool may return: the text the model reads.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be a tool's return type",
    label = "the model reads a tool's result as text",
    note = "return `String`, `&str`, a number, `bool`, `()`, `serde_json::Value`, `Json(value)` of a `Serialize` value, or `Result<T, E>` of one of these with `E: Display` (its text goes to the model as the error)"
)]
pub trait IntoToolOutput {
    /// The text, or the error the model gets instead.
    fn into_tool_output(self) -> Result<String, ToolError>;
}

/// A `Serialize` value returned by a tool, sent to the model as JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

impl<T: serde::Serialize> IntoToolOutput for Json<T> {
    fn into_tool_output(self) -> Result<String, ToolError> {
        serde_json::to_string(&self.0).map_err(|e| ToolError::Failed(e.to_string()))
    }
}

impl IntoToolOutput for String {
    fn into_tool_output(self) -> Result<String, ToolError> {
        Ok(self)
    }
}

impl IntoToolOutput for &str {
    fn into_tool_output(self) -> Result<String, ToolError> {
        Ok(self.to_owned())
    }
}

impl IntoToolOutput for () {
    /// Agno's `str(None)`.
    fn into_tool_output(self) -> Result<String, ToolError> {
        Ok("None".to_owned())
    }
}

impl IntoToolOutput for Value {
    /// A string as its text, anything else as JSON.
    fn into_tool_output(self) -> Result<String, ToolError> {
        Ok(match self {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }
}

macro_rules! display_output {
    ($($ty:ty),*) => {$(
        impl IntoToolOutput for $ty {
            fn into_tool_output(self) -> Result<String, ToolError> {
                Ok(self.to_string())
            }
        }
    )*};
}
display_output!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64
);

impl IntoToolOutput for bool {
    /// Agno's `str(True)` / `str(False)`.
    fn into_tool_output(self) -> Result<String, ToolError> {
        Ok(if self { "True" } else { "False" }.to_owned())
    }
}

impl<T: IntoToolOutput, E: fmt::Display> IntoToolOutput for Result<T, E> {
    fn into_tool_output(self) -> Result<String, ToolError> {
        match self {
            Ok(value) => value.into_tool_output(),
            Err(error) => Err(ToolError::Failed(error.to_string())),
        }
    }
}

/// One parameter of a tool, as `#[tool]` describes it.
#[derive(Clone, Copy)]
pub struct ParamSpec {
    /// Its name.
    pub name: &'static str,
    /// Its description (the doc comment's `# Arguments` line).
    pub description: Option<&'static str>,
    /// [`ToolParam::schema`] of its type.
    pub schema: fn(&mut SchemaGenerator) -> Value,
    /// [`ToolParam::required`] of its type.
    pub required: fn() -> bool,
}

/// The JSON Schema of a tool's parameters, as sent to the model: an
/// object of `params`, subschemas inlined, no other property allowed;
/// when `strict`, every property (at every level) required.
pub fn parameters_schema(params: &[ParamSpec], strict: bool) -> Value {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.inline_subschemas = true;
            s.meta_schema = None;
        })
        .into_generator();
    let mut properties = Map::new();
    let mut required = Vec::new();
    for param in params {
        let mut schema = (param.schema)(&mut generator);
        if let (Some(description), Value::Object(map)) = (param.description, &mut schema) {
            map.insert("description".into(), description.into());
        }
        properties.insert(param.name.to_owned(), schema);
        if (param.required)() {
            required.push(Value::from(param.name));
        }
    }
    let mut schema = serde_json::json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    if strict {
        make_strict(&mut schema);
        // In the parameters' order (a JSON map here is sorted by key).
        let all = params.iter().map(|p| Value::from(p.name)).collect();
        schema["required"] = Value::Array(all);
    }
    schema
}

/// OpenAI's strict mode, at every object level: all properties required,
/// no other property.
fn make_strict(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            if let Some(Value::Object(properties)) = map.get("properties") {
                let all: Vec<Value> = properties.keys().cloned().map(Value::from).collect();
                map.insert("required".into(), Value::Array(all));
                map.insert("additionalProperties".into(), Value::Bool(false));
            }
            for value in map.values_mut() {
                make_strict(value);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(make_strict),
        _ => {}
    }
}

/// The model's arguments to one call, taken parameter by parameter by the
/// code `#[tool]` generates.
#[derive(Debug)]
pub struct ToolArguments {
    tool: &'static str,
    values: Map<String, Value>,
}

impl ToolArguments {
    /// The arguments of a call to `tool`.
    pub fn new(tool: &'static str, values: Map<String, Value>) -> Self {
        Self { tool, values }
    }

    /// Reads parameter `name` (`null` when the model did not send it)
    /// with `read` (its type's [`ToolParam::from_argument`]).
    pub fn take<T>(
        &mut self,
        name: &'static str,
        read: fn(Value) -> Result<T, serde_json::Error>,
    ) -> Result<T, ToolError> {
        let value = self.values.remove(name).unwrap_or(Value::Null);
        read(value).map_err(|e| ToolError::InvalidArguments {
            tool: self.tool,
            reason: format!("`{name}`: {e}"),
        })
    }

    /// Refuses arguments the tool has no parameter for.
    pub fn finish(self) -> Result<(), ToolError> {
        match self.values.keys().next() {
            None => Ok(()),
            Some(name) => Err(ToolError::InvalidArguments {
                tool: self.tool,
                reason: format!("no parameter named `{name}`"),
            }),
        }
    }

    /// Draws an injected argument from the run.
    pub fn inject<'a, T: FromToolArgs<'a>>(&self, run: &HookArgs<'a>) -> Result<T, ToolError> {
        T::from_tool_args(run).map_err(|e| ToolError::Unavailable {
            tool: self.tool,
            reason: e.to_string(),
        })
    }
}

/// Tools an agent can be given: one `#[tool]`, a tuple of them, a
/// [`ToolRef`] or a `Vec` of them.
pub trait IntoToolList {
    /// The tools, in order.
    fn into_tool_list(self) -> Vec<ToolRef>;
}

impl<T: Tool> IntoToolList for T {
    fn into_tool_list(self) -> Vec<ToolRef> {
        vec![Arc::new(self)]
    }
}

impl IntoToolList for ToolRef {
    fn into_tool_list(self) -> Vec<ToolRef> {
        vec![self]
    }
}

impl IntoToolList for Vec<ToolRef> {
    fn into_tool_list(self) -> Vec<ToolRef> {
        self
    }
}

macro_rules! tuple_tools {
    ($($name:ident),+) => {
        impl<$($name: IntoToolList),+> IntoToolList for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_tool_list(self) -> Vec<ToolRef> {
                let ($($name,)+) = self;
                let mut tools = Vec::new();
                $(tools.extend($name.into_tool_list());)+
                tools
            }
        }
    };
}
tuple_tools!(A);
tuple_tools!(A, B);
tuple_tools!(A, B, C);
tuple_tools!(A, B, C, D);
tuple_tools!(A, B, C, D, E);
tuple_tools!(A, B, C, D, E, F);
tuple_tools!(A, B, C, D, E, F, G);
tuple_tools!(A, B, C, D, E, F, G, H);

/// One registered tool: `#[tool]` submits one for every function it
/// makes a tool of (see [`registered_tools`]).
pub struct ToolRegistration {
    tool: &'static dyn Tool,
}

impl ToolRegistration {
    /// Registers `tool` (used by the code `#[tool]` generates).
    pub const fn new(tool: &'static dyn Tool) -> Self {
        Self { tool }
    }

    /// The tool.
    pub fn tool(&self) -> &'static dyn Tool {
        self.tool
    }
}

inventory::collect!(ToolRegistration);

/// Every `#[tool]` of the program, sorted by name then module.
pub fn registered_tools() -> Vec<&'static dyn Tool> {
    let mut tools: Vec<&'static dyn Tool> = inventory::iter::<ToolRegistration>
        .into_iter()
        .map(ToolRegistration::tool)
        .collect();
    tools.sort_by_key(|t| (t.meta().name, t.meta().module_path));
    tools
}

/// Runs a `#[tool(blocking)]` tool's body on tokio's blocking pool; its
/// panic is the tool's error.
#[doc(hidden)]
pub async fn run_blocking_tool<R: Send + 'static>(
    tool: &'static str,
    body: impl FnOnce() -> R + Send + 'static,
) -> Result<R, ToolError> {
    match tokio::task::spawn_blocking(body).await {
        Ok(value) => Ok(value),
        Err(error) if error.is_panic() => {
            tracing::error!(tool, "a tool panicked");
            Err(ToolError::Failed(format!("the tool {tool} panicked")))
        }
        Err(error) => Err(ToolError::Failed(format!(
            "the tool {tool} could not run: {error}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    #[allow(dead_code)]
    struct Place {
        city: String,
        country: Option<String>,
    }

    fn specs() -> Vec<ParamSpec> {
        vec![
            ParamSpec {
                name: "place",
                description: Some("Where."),
                schema: <Place as ToolParam>::schema,
                required: <Place as ToolParam>::required,
            },
            ParamSpec {
                name: "days",
                description: None,
                schema: <Option<u8> as ToolParam>::schema,
                required: <Option<u8> as ToolParam>::required,
            },
        ]
    }

    #[test]
    fn the_schema_is_an_object_of_the_parameters() {
        let schema = parameters_schema(&specs(), false);
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], serde_json::json!(["place"]));
        assert_eq!(schema["additionalProperties"], false);
        let place = &schema["properties"]["place"];
        assert_eq!(place["description"], "Where.");
        // Inlined, not a `$ref`.
        assert_eq!(place["properties"]["city"]["type"], "string");
        assert!(schema.get("$defs").is_none(), "{schema}");
        assert_eq!(place["required"], serde_json::json!(["city"]));
    }

    #[test]
    fn strict_requires_every_property_at_every_level() {
        let schema = parameters_schema(&specs(), true);
        assert_eq!(schema["required"], serde_json::json!(["place", "days"]));
        let place = &schema["properties"]["place"];
        assert_eq!(place["required"], serde_json::json!(["city", "country"]));
        assert_eq!(place["additionalProperties"], false);
    }

    #[test]
    fn arguments_are_read_by_type_and_unknown_ones_refused() {
        let values = serde_json::json!({"days": 3, "extra": 1});
        let Value::Object(values) = values else {
            unreachable!()
        };
        let mut args = ToolArguments::new("weather", values);
        assert_eq!(
            args.take("days", <Option<u8>>::from_argument).unwrap(),
            Some(3)
        );
        assert_eq!(
            args.take("missing", <Option<String>>::from_argument)
                .unwrap(),
            None
        );
        let error = args.take("city", String::from_argument).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("Invalid arguments for tool weather: `city`"),
            "{error}"
        );
        assert_eq!(
            args.finish().unwrap_err().to_string(),
            "Invalid arguments for tool weather: no parameter named `extra`"
        );
    }

    #[test]
    fn outputs_read_as_agno_prints_them() {
        assert_eq!(().into_tool_output().unwrap(), "None");
        assert_eq!(true.into_tool_output().unwrap(), "True");
        assert_eq!(42.into_tool_output().unwrap(), "42");
        assert_eq!(
            Json(serde_json::json!({"a": 1}))
                .into_tool_output()
                .unwrap(),
            r#"{"a":1}"#
        );
        let failed: Result<String, std::io::Error> = Err(std::io::Error::other("kaboom"));
        assert_eq!(
            failed.into_tool_output(),
            Err(ToolError::Failed("kaboom".into()))
        );
    }
}
