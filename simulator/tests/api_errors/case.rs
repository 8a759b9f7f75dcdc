//! One row of the error table: a request, the error it must get, and the comparison of the two
//! that names every difference.

use std::fmt;

use reqwest::{Method, RequestBuilder};
use serde_json::Value;

use crate::common::{encode, Resp, TestSim};

/// The credentials a case sends.
pub enum Auth {
    /// The simulator's test key, as a Bearer token.
    Key,
    /// No `Authorization` header at all.
    Anonymous,
    /// Another key, as a Bearer token.
    Bearer(&'static str),
}

/// The body a case sends, as it is: it need not be valid in its content type, nor UTF-8.
struct Body {
    content_type: &'static str,
    bytes: Vec<u8>,
}

const FORM: &str = "application/x-www-form-urlencoded";

/// A check on the error's `message`: how it reads (for the report), the text, and the test.
struct Message {
    how: &'static str,
    text: String,
    holds: fn(message: &str, text: &str) -> bool,
}

impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {:?}", self.how, self.text)
    }
}

/// A wrong request and the whole error it must get.
pub struct Case {
    pub name: String,
    method: Method,
    path: String,
    body: Option<Body>,
    auth: Auth,
    idempotency_key: Option<String>,
    status: u16,
    error_type: &'static str,
    /// `None`: the error must have no `code`.
    code: Option<&'static str>,
    /// `None`: the error must have no `param`.
    param: Option<String>,
    message: Vec<Message>,
}

/// What almost every case expects: a 400 `invalid_request_error` without code or param.
fn case(name: &str, method: Method, path: &str, body: Option<Body>) -> Case {
    Case {
        name: name.to_string(),
        method,
        path: path.to_string(),
        body,
        auth: Auth::Key,
        idempotency_key: None,
        status: 400,
        error_type: "invalid_request_error",
        code: None,
        param: None,
        message: Vec::new(),
    }
}

/// A `GET` of `path`, which may carry a query string.
pub fn get(name: &str, path: &str) -> Case {
    case(name, Method::GET, path, None)
}

/// A request of any method without a body.
pub fn call(name: &str, method: Method, path: &str) -> Case {
    case(name, method, path, None)
}

/// A `POST` of an already encoded form body.
pub fn post(name: &str, path: &str, form: &str) -> Case {
    post_bytes(name, path, form.as_bytes())
}

/// A `POST` of form parameters, encoded as the SDKs do.
pub fn post_params(name: &str, path: &str, params: &[(&str, &str)]) -> Case {
    post(name, path, &encode(params))
}

/// A `POST` of raw bytes under the form content type.
pub fn post_bytes(name: &str, path: &str, bytes: &[u8]) -> Case {
    let body = Body {
        content_type: FORM,
        bytes: bytes.to_vec(),
    };
    case(name, Method::POST, path, Some(body))
}

/// A `POST` of a JSON body (the control API's format).
pub fn post_json(name: &str, path: &str, value: Value) -> Case {
    post(name, path, &value.to_string()).content_type("application/json")
}

impl Case {
    pub fn auth(mut self, auth: Auth) -> Case {
        self.auth = auth;
        self
    }

    /// Sends the body under another content type than the form's.
    pub fn content_type(mut self, content_type: &'static str) -> Case {
        if let Some(body) = &mut self.body {
            body.content_type = content_type;
        }
        self
    }

    pub fn idempotency_key(mut self, key: &str) -> Case {
        self.idempotency_key = Some(key.to_string());
        self
    }

    /// Expects another status or error type than a 400 `invalid_request_error`.
    pub fn fails(mut self, status: u16, error_type: &'static str) -> Case {
        self.status = status;
        self.error_type = error_type;
        self
    }

    /// Expects Stripe's answer to an id it does not know: 404 `resource_missing`, naming `param`.
    pub fn missing(self, param: &str) -> Case {
        self.fails(404, "invalid_request_error")
            .code("resource_missing")
            .param(param)
    }

    pub fn code(mut self, code: &'static str) -> Case {
        self.code = Some(code);
        self
    }

    pub fn param(mut self, param: &str) -> Case {
        self.param = Some(param.to_string());
        self
    }

    pub fn message_is(self, text: &str) -> Case {
        self.message("is", text, |message, text| message == text)
    }

    pub fn message_starts_with(self, text: &str) -> Case {
        self.message("starts with", text, |message, text| {
            message.starts_with(text)
        })
    }

    pub fn message_ends_with(self, text: &str) -> Case {
        self.message("ends with", text, |message, text| message.ends_with(text))
    }

    pub fn message_contains(self, text: &str) -> Case {
        self.message("contains", text, |message, text| message.contains(text))
    }

    /// Expects the message not to contain `text` (a secret it must not echo).
    pub fn message_lacks(self, text: &str) -> Case {
        self.message("lacks", text, |message, text| !message.contains(text))
    }

    fn message(mut self, how: &'static str, text: &str, holds: fn(&str, &str) -> bool) -> Case {
        self.message.push(Message {
            how,
            text: text.to_string(),
            holds,
        });
        self
    }

    /// The request, ready to send to `t`.
    pub fn request(&self, t: &TestSim) -> RequestBuilder {
        let mut request = match self.auth {
            Auth::Key => t.request(self.method.clone(), &self.path),
            Auth::Anonymous => t.anonymous(self.method.clone(), &self.path),
            Auth::Bearer(key) => t
                .anonymous(self.method.clone(), &self.path)
                .bearer_auth(key),
        };
        if let Some(key) = &self.idempotency_key {
            request = request.header("idempotency-key", key);
        }
        match &self.body {
            None => request,
            Some(body) => request
                .header("content-type", body.content_type)
                .body(body.bytes.clone()),
        }
    }

    /// Every way `answer` differs from what the case expects; empty when it is right.
    pub fn differences(&self, answer: &Resp) -> Vec<String> {
        let mut wrong = Vec::new();
        if answer.status != self.status {
            wrong.push(format!("status {}", answer.status));
        }
        if answer.header("content-type") != Some("application/json") {
            wrong.push(format!("content-type {:?}", answer.header("content-type")));
        }
        let error = &answer.body["error"];
        if !error.is_object() {
            wrong.push("no Stripe error envelope".to_string());
            return wrong;
        }
        if error["type"] != self.error_type {
            wrong.push(format!("type {}", error["type"]));
        }
        if !optional_is(&error["code"], self.code) {
            wrong.push(format!("code {}", error["code"]));
        }
        if !optional_is(&error["param"], self.param.as_deref()) {
            wrong.push(format!("param {}", error["param"]));
        }
        let Some(message) = error["message"].as_str() else {
            wrong.push("no message".to_string());
            return wrong;
        };
        if !self
            .message
            .iter()
            .all(|check| (check.holds)(message, &check.text))
        {
            wrong.push(format!("message {message:?}"));
        }
        wrong
    }

    /// The request in one line, its body cut short.
    pub fn describe_request(&self) -> String {
        let mut request = format!("{} {}", self.method, self.path);
        if let Some(body) = &self.body {
            let text: String = String::from_utf8_lossy(&body.bytes)
                .chars()
                .take(120)
                .collect();
            request.push_str(&format!(" {text}"));
        }
        match self.auth {
            Auth::Key => {}
            Auth::Anonymous => request.push_str(" (no key)"),
            Auth::Bearer(key) => request.push_str(&format!(" (key {key})")),
        }
        if let Some(key) = &self.idempotency_key {
            request.push_str(&format!(" (idempotency key of {} characters)", key.len()));
        }
        request
    }

    /// The expected error in one line.
    pub fn describe_expected(&self) -> String {
        let mut expected = format!(
            "{} {}, code {}, param {}",
            self.status,
            self.error_type,
            self.code.unwrap_or("none"),
            self.param.as_deref().unwrap_or("none")
        );
        for check in &self.message {
            expected.push_str(&format!(", message {check}"));
        }
        expected
    }
}

/// `value` is the string `expected`, or absent (`null`) when nothing is expected.
fn optional_is(value: &Value, expected: Option<&str>) -> bool {
    match expected {
        Some(text) => value == text,
        None => value.is_null(),
    }
}
