// CBOR (RFC 8949) for WebAuthn: a small owned value tree, a strict decoder
// built on libcbor's streaming decoder, and an encoder (libcbor) used by the
// software authenticator in tests and by anyone building COSE keys.
//
// The decoder is meant for bytes from outside (attestation objects,
// authenticator data, COSE keys). It accepts only what WebAuthn needs and
// refuses the rest with a precise error: indefinite lengths (CTAP2 canonical
// form forbids them), tags (no WebAuthn structure uses one, and libcbor 0.8
// cannot decode tags 6..20 in their one-byte form), nesting deeper than kMaxDepth, more than
// kMaxItems items, lengths larger than the input, duplicate map keys, and (for decode()) bytes
// after the item. It never allocates more than the input can justify, and it does not recurse on
// input depth beyond kMaxDepth, so it is safe to fuzz. libcbor types never appear in this header.
//
// Thread-safety: values are plain data; decode/encode share no state.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <utility>
#include <vector>

namespace stepup::factors::cbor {

inline constexpr std::size_t kMaxDepth = 16;    // nested arrays/maps/tags
inline constexpr std::size_t kMaxItems = 4096;  // data items in one document

enum class Type {
  kUnsigned,   // major type 0
  kNegative,   // major type 1: value is -1 - raw
  kBytes,      // major type 2
  kText,       // major type 3
  kArray,      // major type 4
  kMap,        // major type 5
  kTag,        // major type 6: tag number + one item (encode only)
  kBool,       // simple value 20/21
  kNull,       // simple value 22
  kUndefined,  // simple value 23
  kFloat,      // half/single/double
};

class Value {
 public:
  using Array = std::vector<Value>;
  using Map = std::vector<std::pair<Value, Value>>;  // in encoding order

  Value() : type_(Type::kNull) {}
  static Value unsigned_int(std::uint64_t v);
  static Value negative_raw(std::uint64_t raw);  // the value -1 - raw
  static Value integer(std::int64_t v);          // picks unsigned or negative
  static Value bytes(std::string b);
  static Value text(std::string t);
  static Value array(Array items);
  static Value map(Map entries);
  static Value tag(std::uint64_t number, Value item);
  static Value boolean(bool b);
  static Value null();
  static Value undefined();
  static Value floating(double d);

  Type type() const { return type_; }
  bool is_map() const { return type_ == Type::kMap; }
  bool is_array() const { return type_ == Type::kArray; }

  // Integer value when it is an integer that fits in int64; nullopt otherwise.
  std::optional<std::int64_t> as_int() const;
  // Byte/text string content; nullptr when the type differs.
  const std::string* as_bytes() const { return type_ == Type::kBytes ? &str_ : nullptr; }
  const std::string* as_text() const { return type_ == Type::kText ? &str_ : nullptr; }
  const Array* as_array() const { return type_ == Type::kArray ? &items_ : nullptr; }
  const Map* as_map() const { return type_ == Type::kMap ? &entries_ : nullptr; }
  std::optional<bool> as_bool() const;
  // Tag number and tagged item (nullptr unless kTag).
  std::uint64_t tag_number() const { return raw_; }
  const Value* tagged() const {
    return type_ == Type::kTag && !items_.empty() ? &items_[0] : nullptr;
  }
  double as_double() const { return dbl_; }
  // Raw major-type argument for kUnsigned / kNegative.
  std::uint64_t raw() const { return raw_; }

  // Map lookup by integer or text key; nullptr when absent or not a map.
  const Value* find(std::int64_t key) const;
  const Value* find(std::string_view key) const;

  friend bool operator==(const Value& a, const Value& b);

  // Mutable access for builders (decoder, tests).
  Array& mutable_items() { return items_; }
  Map& mutable_entries() { return entries_; }

 private:
  Type type_;
  std::uint64_t raw_ = 0;  // uint, negative raw, tag number, bool (0/1)
  double dbl_ = 0;
  std::string str_;
  Array items_;  // array items, or the single tagged item
  Map entries_;
};

enum class DecodeError {
  kEmpty,           // no bytes at all
  kTruncated,       // input ends inside an item
  kMalformed,       // reserved additional info, bad simple value, stray break
  kIndefinite,      // indefinite-length string/array/map (not canonical CTAP2)
  kTag,             // a tagged item (never used by WebAuthn; kTag values are encode-only)
  kTooDeep,         // nesting deeper than kMaxDepth
  kTooManyItems,    // more than kMaxItems data items
  kLengthTooLarge,  // declared array/map count cannot fit in the remaining input
  kDuplicateKey,    // the same key twice in one map
  kTrailingBytes,   // decode(): bytes after the single top-level item
};
std::string_view to_string(DecodeError e);

// Exactly one item spanning all of `bytes`.
tl::expected<Value, DecodeError> decode(std::string_view bytes);

// One item at the start of `bytes`; returns it and the number of bytes it
// took (the rest is the caller's, e.g. extensions after a COSE key).
struct Prefix {
  Value value;
  std::size_t consumed = 0;
};
tl::expected<Prefix, DecodeError> decode_prefix(std::string_view bytes);

// Definite-length encoding with the shortest integer/length forms (the CTAP2
// canonical form apart from map key ordering, which follows the Value's
// order). Floats are written as doubles.
std::string encode(const Value& v);

}  // namespace stepup::factors::cbor
