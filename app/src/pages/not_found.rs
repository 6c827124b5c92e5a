//! Every path the router does not know.

use leptos::prelude::*;

use crate::components::erased::IntoErased;

use crate::components::{Card, Glyph, Layout};

/// A "Page not found" card with the way back to the catalog.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <Layout operator=None>
            <Card glyph=Glyph::AlertTriangle title="Page not found" class="bty-not-found">
                <p>"There is nothing at this address."</p>
                <p>
                    <a href="/ui/images" rel="external">"Go to the image catalog"</a>
                </p>
            </Card>
        </Layout>
    }
    .erased()
}
