//! Response streams that must end with a final message (image pull, installer): progress
//! items, then a last item or a clean end; ending early is an error.

use futures::stream::{BoxStream, StreamExt};

use crate::error::Error;

/// What one response of a stream with a final message means.
pub(super) enum Step<T> {
    /// A progress item; more follow.
    Item(T),
    /// The final item (or failure); the stream ends after it.
    Last(Result<T, Error>),
    /// The stream ends successfully without another item.
    End,
    /// Nothing to report.
    Skip,
}

/// Adapts a response stream that must end with a final message: an early end yields
/// `unterminated`, errors end the stream.
pub(super) fn until_final<M, T, F>(
    responses: BoxStream<'static, Result<M, Error>>,
    unterminated: Error,
    classify: F,
) -> BoxStream<'static, Result<T, Error>>
where
    M: Send + 'static,
    T: Send + 'static,
    F: FnMut(M) -> Step<T> + Send + 'static,
{
    let pending = Pending {
        responses,
        unterminated: Some(unterminated),
        classify,
    };
    futures::stream::unfold(Some(pending), |state| async move {
        let mut pending = state?;
        loop {
            match pending.responses.next().await {
                None => return pending.unterminated.take().map(|error| (Err(error), None)),
                Some(Err(error)) => return Some((Err(error), None)),
                Some(Ok(message)) => match (pending.classify)(message) {
                    Step::Item(item) => return Some((Ok(item), Some(pending))),
                    Step::Last(last) => return Some((last, None)),
                    Step::End => return None,
                    Step::Skip => {}
                },
            }
        }
    })
    .boxed()
}

/// The state of [`until_final`] between items.
struct Pending<M, F> {
    responses: BoxStream<'static, Result<M, Error>>,
    unterminated: Option<Error>,
    classify: F,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use futures::executor::block_on;

    fn early_end() -> Error {
        Error::Timeout {
            what: "early end".to_owned(),
            after: std::time::Duration::ZERO,
        }
    }

    /// Feeds `messages` through `until_final`: negative = final failure, 0 = clean end,
    /// 1 = skipped, others are items.
    async fn run(messages: Vec<i32>) -> Vec<Result<i32, String>> {
        let responses = futures::stream::iter(messages.into_iter().map(Ok)).boxed();
        until_final(responses, early_end(), |message| match message {
            0 => Step::End,
            1 => Step::Skip,
            code if code < 0 => Step::Last(Err(early_end())),
            item => Step::Item(item),
        })
        .map(|item| item.map_err(|error| error.to_string()))
        .collect()
        .await
    }

    #[test]
    fn items_then_a_clean_end_stop_the_stream() {
        assert_eq!(block_on(run(vec![2, 1, 3, 0, 4])), [Ok(2), Ok(3)]);
    }

    #[test]
    fn a_final_failure_is_the_last_item() {
        let items = block_on(run(vec![2, -1, 3]));
        assert_eq!(items.len(), 2);
        assert!(items[1].is_err());
    }

    #[test]
    fn ending_without_the_final_message_is_an_error() {
        let items = block_on(run(vec![2, 3]));
        assert_eq!(items[..2], [Ok(2), Ok(3)]);
        assert!(items[2].as_ref().unwrap_err().contains("early end"));
        assert_eq!(items.len(), 3);
    }
}
