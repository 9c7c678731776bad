use hooks_core::tool;

#[derive(schemars::JsonSchema)]
struct Place {
    city: String,
}

/// Where.
#[tool]
fn weather(place: Place) -> String {
    place.city
}

fn main() {}
