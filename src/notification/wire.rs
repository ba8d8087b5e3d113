//! Serde structs shaped like RingCentral's JSON. Open strings stay strings:
//! RingCentral's own documents disagree on their values.

use super::error::{from_serde, DecodeError};
use serde::de::{self, Deserialize, Deserializer, Visitor};
use serde_json::value::RawValue;
use std::fmt;

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireEnvelope<'a> {
    pub uuid: String,
    pub event: String,
    pub timestamp: String,
    pub subscription_id: Option<String>,
    pub owner_id: Option<StringOrInteger>,
    #[serde(borrow)]
    pub body: &'a RawValue,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WireBody {
    pub event_type: String,
    pub phone_number_info: Object<WirePhoneNumberInfo>,
}

#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WirePhoneNumberInfo {
    pub uri: Option<String>,
    pub id: StringOrInteger,
    pub phone_number: String,
    pub payment_type: Option<String>,
    pub location: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub usage_type: Option<String>,
    pub status: Option<String>,
    pub contact_center_provider: Option<Object<WireProvider>>,
}

#[derive(Debug, serde::Deserialize)]
pub struct WireProvider {
    pub id: Option<StringOrInteger>,
    pub name: Option<String>,
}

/// RingCentral documents ids as strings in events but as int64 on resources.
#[derive(Debug)]
pub struct StringOrInteger(pub String);

impl<'de> Deserialize<'de> for StringOrInteger {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = StringOrInteger;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an integer")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(StringOrInteger(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(StringOrInteger(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(StringOrInteger(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(StringOrInteger(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// Serde's derived structs also accept a JSON array, filled by position;
/// RingCentral only sends objects, so anything else is refused.
#[derive(Debug)]
pub struct Object<T>(pub T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Object<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Object<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(Object)
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Parses one JSON document into `T`, naming the JSON path of any failure.
pub fn parse<'a, T: Deserialize<'a>>(bytes: &'a [u8], root: &str) -> Result<T, DecodeError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let Object(value) = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        from_serde(root, &path, e.inner())
    })?;
    de.end().map_err(|e| from_serde(root, ".", &e))?;
    Ok(value)
}
