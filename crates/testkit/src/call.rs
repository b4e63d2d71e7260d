//! [`Call`]: a test's gRPC call reads as one line that gives the message or the error.
use std::fmt::Debug;
use std::future::{Future, IntoFuture};
use std::panic::Location;

/// What a test does with a call of a tonic client (any future of `Result<tonic::Response<T>, tonic::Status>`):
/// `.ok().await` is the response message, `.err().await` the error. The panic of a call that went the other way
/// names the response type (so the RPC), the test's line and the status or the message.
///
/// ```text
/// use liaison_testkit::Call;
///
/// let contact = app.client.get_contact(GetContactRequest { name }).ok().await.contact.unwrap();
/// let status = app.client.get_contact(GetContactRequest { name: "contacts/x".into() }).err().await;
/// assert_eq!(status.code(), tonic::Code::InvalidArgument);
/// ```
pub trait Call<T> {
    /// The response message; panics with the status if the call failed.
    #[track_caller]
    fn ok(self) -> impl Future<Output = T> + Send;

    /// The error; panics with the response if the call succeeded.
    #[track_caller]
    fn err(self) -> impl Future<Output = tonic::Status> + Send
    where
        T: Debug;
}

impl<F, T> Call<T> for F
where
    F: IntoFuture<Output = Result<tonic::Response<T>, tonic::Status>>,
    F::IntoFuture: Send,
    T: Send,
{
    #[track_caller]
    fn ok(self) -> impl Future<Output = T> + Send {
        let at = Location::caller();
        let call = self.into_future();
        async move {
            match call.await {
                Ok(response) => response.into_inner(),
                Err(status) => panic!("the call at {at} answering {} failed: {status:?}", short_type_name::<T>()),
            }
        }
    }

    #[track_caller]
    fn err(self) -> impl Future<Output = tonic::Status> + Send
    where
        T: Debug,
    {
        let at = Location::caller();
        let call = self.into_future();
        async move {
            match call.await {
                Err(status) => status,
                Ok(response) => panic!(
                    "the call at {at} answering {} was expected to fail, but it returned {:?}",
                    short_type_name::<T>(),
                    response.get_ref()
                ),
            }
        }
    }
}

/// `liaison_proto::contacts::v1::GetContactResponse` → `GetContactResponse`.
fn short_type_name<T>() -> &'static str {
    let name = std::any::type_name::<T>();
    name.rsplit("::").next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn answer(result: Result<u32, tonic::Status>) -> Result<tonic::Response<u32>, tonic::Status> {
        result.map(tonic::Response::new)
    }

    #[tokio::test]
    async fn ok_is_the_message_and_err_the_status() {
        assert_eq!(answer(Ok(7)).ok().await, 7);
        let status = answer(Err(tonic::Status::not_found("contacts/x"))).err().await;
        assert_eq!((status.code(), status.message()), (tonic::Code::NotFound, "contacts/x"));
    }

    #[tokio::test]
    async fn a_call_that_went_the_other_way_names_the_line_and_what_came_back() {
        let line = line!() + 1;
        let failed = tokio::spawn(answer(Err(tonic::Status::aborted("stale etag"))).ok());
        let message = panic_message(failed.await.unwrap_err());
        assert!(message.contains(&format!("call.rs:{line}")), "{message}");
        assert!(message.contains("u32") && message.contains("Aborted") && message.contains("stale etag"), "{message}");

        let succeeded = tokio::spawn(answer(Ok(7)).err());
        let message = panic_message(succeeded.await.unwrap_err());
        assert!(message.contains("expected to fail") && message.contains('7'), "{message}");
    }

    fn panic_message(error: tokio::task::JoinError) -> String {
        let payload = error.into_panic();
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    }
}
