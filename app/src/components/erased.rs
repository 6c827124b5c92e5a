//! Type erasure for views without the second, async copy of their
//! hydration code.
//!
//! `IntoAny::into_any` keeps a pointer to the view's `hydrate_async` beside
//! `build`, `rebuild` and `hydrate`. That is a whole async copy of the
//! subtree's hydration, which only lazily loaded routes ever run; we hydrate
//! synchronously, but the pointer keeps the copy in the browser bundle (it
//! was a sixth of it). [`IntoErased::erased`] erases without it:
//!
//! - in the browser, into a [`LeanView`]: a boxed view that can build,
//!   rebuild and hydrate, and nothing else (no HTML rendering, no async
//!   hydration even as a stub, which `into_any` still instantiates per type);
//! - on the server, with `into_any`, the view wrapped in [`SyncHydrate`],
//!   whose `hydrate_async` is tachys's default (hydrate synchronously).
//!
//! The HTML and the DOM are the same as with `into_any`.

use leptos::children::ToChildren;
#[cfg(not(feature = "hydrate"))]
use leptos::prelude::*;
use leptos::tachys::{
    html::attribute::{any_attribute::AnyAttribute, Attribute},
    hydration::Cursor,
    ssr::StreamBuilder,
    view::{add_attr::AddAnyAttr, Position, PositionState, Render, RenderHtml},
};

#[cfg(feature = "hydrate")]
pub use lean::{LeanView, LeanViewState};

/// What [`IntoErased::erased`] gives: [`LeanView`] in the browser, leptos's
/// `AnyView` on the server.
#[cfg(feature = "hydrate")]
pub type ErasedView = LeanView;
/// What [`IntoErased::erased`] gives: [`LeanView`] in the browser, leptos's
/// `AnyView` on the server.
#[cfg(not(feature = "hydrate"))]
pub type ErasedView = AnyView;

/// A view whose async hydration is its synchronous one.
pub struct SyncHydrate<V>(V);

/// `.erased()`: `into_any` for views in this crate (see the module doc).
pub trait IntoErased {
    /// The view, type-erased.
    fn erased(self) -> ErasedView;
}

impl<V: RenderHtml> IntoErased for V {
    fn erased(self) -> ErasedView {
        #[cfg(feature = "hydrate")]
        {
            LeanView::new(self.into_owned())
        }
        #[cfg(not(feature = "hydrate"))]
        {
            SyncHydrate(self).into_any()
        }
    }
}

impl<V: Render> Render for SyncHydrate<V> {
    type State = V::State;

    fn build(self) -> Self::State {
        self.0.build()
    }

    fn rebuild(self, state: &mut Self::State) {
        self.0.rebuild(state)
    }
}

impl<V: AddAnyAttr> AddAnyAttr for SyncHydrate<V> {
    type Output<SomeNewAttr: Attribute> = SyncHydrate<V::Output<SomeNewAttr>>;

    fn add_any_attr<NewAttr: Attribute>(self, attr: NewAttr) -> Self::Output<NewAttr>
    where
        Self::Output<NewAttr>: RenderHtml,
    {
        SyncHydrate(self.0.add_any_attr(attr))
    }
}

impl<V: RenderHtml> RenderHtml for SyncHydrate<V> {
    type AsyncOutput = SyncHydrate<V::AsyncOutput>;
    type Owned = SyncHydrate<V::Owned>;

    const MIN_LENGTH: usize = V::MIN_LENGTH;
    const EXISTS: bool = V::EXISTS;

    fn dry_resolve(&mut self) {
        self.0.dry_resolve()
    }

    async fn resolve(self) -> Self::AsyncOutput {
        SyncHydrate(self.0.resolve().await)
    }

    fn html_len(&self) -> usize {
        self.0.html_len()
    }

    fn to_html_with_buf(
        self,
        buf: &mut String,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) {
        self.0
            .to_html_with_buf(buf, position, escape, mark_branches, extra_attrs)
    }

    fn to_html_async_with_buf<const OUT_OF_ORDER: bool>(
        self,
        buf: &mut StreamBuilder,
        position: &mut Position,
        escape: bool,
        mark_branches: bool,
        extra_attrs: Vec<AnyAttribute>,
    ) where
        Self: Sized,
    {
        self.0.to_html_async_with_buf::<OUT_OF_ORDER>(
            buf,
            position,
            escape,
            mark_branches,
            extra_attrs,
        )
    }

    fn hydrate<const FROM_SERVER: bool>(
        self,
        cursor: &Cursor,
        position: &PositionState,
    ) -> Self::State {
        self.0.hydrate::<FROM_SERVER>(cursor, position)
    }

    // `hydrate_async` is left to the default, which calls `hydrate`.

    fn into_owned(self) -> Self::Owned {
        SyncHydrate(self.0.into_owned())
    }
}

/// `Children` for this crate's components: the same boxed closure, its view
/// erased with [`IntoErased::erased`] (leptos's `Children` uses `into_any`).
pub struct ErasedChildren(Box<dyn FnOnce() -> ErasedView + Send>);

impl ErasedChildren {
    /// The children's view.
    pub fn render(self) -> ErasedView {
        (self.0)()
    }
}

impl<F, C> ToChildren<F> for ErasedChildren
where
    F: FnOnce() -> C + Send + 'static,
    C: RenderHtml + Send + 'static,
{
    fn to_children(f: F) -> Self {
        ErasedChildren(Box::new(move || f().erased()))
    }
}

#[cfg(feature = "hydrate")]
mod lean {
    //! The browser's erased view (see the module doc above).

    use std::any::{Any, TypeId};

    use leptos::tachys::{
        html::attribute::{any_attribute::AnyAttribute, Attribute},
        hydration::Cursor,
        renderer::{
            types::{Element, Node, Placeholder},
            Rndr,
        },
        view::{
            add_attr::AddAnyAttr,
            any_view::{AnyViewWithAttrs, IntoAny},
            close_branch_marker, Mountable, Position, PositionState, Render, RenderHtml,
        },
    };

    /// A type-erased view for the browser: builds, rebuilds and hydrates.
    pub struct LeanView(Box<dyn ErasedRender>);

    impl LeanView {
        /// Erases `view`.
        pub fn new<V>(view: V) -> Self
        where
            V: RenderHtml + 'static,
            V::State: 'static,
        {
            LeanView(Box::new(view))
        }
    }

    /// The object-safe part of a view that a [`LeanView`] keeps.
    trait ErasedRender: Send {
        fn view_type(&self) -> TypeId;
        fn build(self: Box<Self>) -> LeanViewState;
        /// `state` was built from a view of the same type.
        fn rebuild(self: Box<Self>, state: &mut LeanViewState);
        fn hydrate(self: Box<Self>, cursor: &Cursor, position: &PositionState) -> LeanViewState;
    }

    impl<V> ErasedRender for V
    where
        V: RenderHtml + 'static,
        V::State: 'static,
    {
        fn view_type(&self) -> TypeId {
            TypeId::of::<V>()
        }

        fn build(self: Box<Self>) -> LeanViewState {
            LeanViewState {
                view_type: TypeId::of::<V>(),
                state: Box::new(Render::build(*self)),
                placeholder: (!V::EXISTS).then(Rndr::create_placeholder),
            }
        }

        fn rebuild(self: Box<Self>, state: &mut LeanViewState) {
            if let Some(state) = state.state.as_any_mut().downcast_mut::<V::State>() {
                Render::rebuild(*self, state);
            }
        }

        fn hydrate(self: Box<Self>, cursor: &Cursor, position: &PositionState) -> LeanViewState {
            let state = Box::new(RenderHtml::hydrate::<true>(*self, cursor, position));
            LeanViewState {
                view_type: TypeId::of::<V>(),
                state,
                placeholder: (!V::EXISTS).then(|| cursor.next_placeholder(position)),
            }
        }
    }

    /// A mounted view's state, and a way back to its type for a rebuild.
    trait ErasedState: Mountable {
        fn as_any_mut(&mut self) -> &mut dyn Any;
    }

    impl<S: Mountable + 'static> ErasedState for S {
        fn as_any_mut(&mut self) -> &mut dyn Any {
            self
        }
    }

    /// The retained state of a [`LeanView`].
    pub struct LeanViewState {
        view_type: TypeId,
        state: Box<dyn ErasedState>,
        /// Marks the place of a view that renders nothing.
        placeholder: Option<Placeholder>,
    }

    impl Render for LeanView {
        type State = LeanViewState;

        fn build(self) -> Self::State {
            self.0.build()
        }

        fn rebuild(self, state: &mut Self::State) {
            if self.0.view_type() == state.view_type {
                self.0.rebuild(state);
            } else {
                // Another view now: as `AnyView` does it.
                let mut new = self.0.build();
                if let Some(placeholder) = &mut state.placeholder {
                    placeholder.insert_before_this(&mut new);
                    placeholder.unmount();
                } else {
                    state.insert_before_this(&mut new);
                }
                state.unmount();
                *state = new;
            }
        }
    }

    impl Mountable for LeanViewState {
        fn unmount(&mut self) {
            self.state.unmount();
            if let Some(placeholder) = &mut self.placeholder {
                placeholder.unmount();
            }
        }

        fn mount(&mut self, parent: &Element, marker: Option<&Node>) {
            self.state.mount(parent, marker);
            if let Some(placeholder) = &mut self.placeholder {
                placeholder.mount(parent, marker);
            }
        }

        fn insert_before_this(&self, child: &mut dyn Mountable) -> bool {
            self.state.insert_before_this(child)
                || self
                    .placeholder
                    .as_ref()
                    .is_some_and(|placeholder| placeholder.insert_before_this(child))
        }

        fn elements(&self) -> Vec<Element> {
            self.state.elements()
        }
    }

    impl AddAnyAttr for LeanView {
        type Output<SomeNewAttr: Attribute> = AnyViewWithAttrs;

        fn add_any_attr<NewAttr: Attribute>(self, attr: NewAttr) -> Self::Output<NewAttr>
        where
            Self::Output<NewAttr>: RenderHtml,
        {
            self.into_any().add_any_attr(attr)
        }
    }

    /// The browser never renders HTML: those methods do nothing.
    impl RenderHtml for LeanView {
        type AsyncOutput = Self;
        type Owned = Self;

        const MIN_LENGTH: usize = 0;

        fn dry_resolve(&mut self) {}

        async fn resolve(self) -> Self::AsyncOutput {
            self
        }

        fn to_html_with_buf(
            self,
            _buf: &mut String,
            _position: &mut Position,
            _escape: bool,
            _mark_branches: bool,
            _extra_attrs: Vec<AnyAttribute>,
        ) {
        }

        fn hydrate<const FROM_SERVER: bool>(
            self,
            cursor: &Cursor,
            position: &PositionState,
        ) -> Self::State {
            let state = self.0.hydrate(cursor, position);
            close_branch_marker(position);
            state
        }

        fn into_owned(self) -> Self::Owned {
            self
        }
    }
}
