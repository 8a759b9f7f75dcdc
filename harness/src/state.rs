//! The four states an order can be in, whatever words the target uses for them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderState {
    Pending,
    Paid,
    Failed,
    Refunded,
}

impl OrderState {
    pub const ALL: [OrderState; 4] = [
        OrderState::Pending,
        OrderState::Paid,
        OrderState::Failed,
        OrderState::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            OrderState::Pending => "pending",
            OrderState::Paid => "paid",
            OrderState::Failed => "failed",
            OrderState::Refunded => "refunded",
        }
    }

    pub fn parse(word: &str) -> Option<OrderState> {
        OrderState::ALL.into_iter().find(|s| s.as_str() == word)
    }
}

impl std::fmt::Display for OrderState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An order as the target reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObservedOrder {
    pub state: OrderState,
    pub provider_order_id: Option<String>,
    pub provider_capture_id: Option<String>,
    pub raw: serde_json::Value,
}
