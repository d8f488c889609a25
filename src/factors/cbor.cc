#include "factors/cbor.h"

#include <cbor.h>

#include <cstdlib>
#include <limits>
#include <memory>

namespace stepup::factors::cbor {

// ---- Value -----------------------------------------------------------------

Value Value::unsigned_int(std::uint64_t v) {
  Value r;
  r.type_ = Type::kUnsigned;
  r.raw_ = v;
  return r;
}
Value Value::negative_raw(std::uint64_t raw) {
  Value r;
  r.type_ = Type::kNegative;
  r.raw_ = raw;
  return r;
}
Value Value::integer(std::int64_t v) {
  // -1 - v for negatives, computed without overflowing at INT64_MIN.
  return v >= 0 ? unsigned_int(static_cast<std::uint64_t>(v))
                : negative_raw(static_cast<std::uint64_t>(-(v + 1)));
}
Value Value::bytes(std::string b) {
  Value r;
  r.type_ = Type::kBytes;
  r.str_ = std::move(b);
  return r;
}
Value Value::text(std::string t) {
  Value r;
  r.type_ = Type::kText;
  r.str_ = std::move(t);
  return r;
}
Value Value::array(Array items) {
  Value r;
  r.type_ = Type::kArray;
  r.items_ = std::move(items);
  return r;
}
Value Value::map(Map entries) {
  Value r;
  r.type_ = Type::kMap;
  r.entries_ = std::move(entries);
  return r;
}
Value Value::tag(std::uint64_t number, Value item) {
  Value r;
  r.type_ = Type::kTag;
  r.raw_ = number;
  r.items_.push_back(std::move(item));
  return r;
}
Value Value::boolean(bool b) {
  Value r;
  r.type_ = Type::kBool;
  r.raw_ = b ? 1 : 0;
  return r;
}
Value Value::null() { return Value(); }
Value Value::undefined() {
  Value r;
  r.type_ = Type::kUndefined;
  return r;
}
Value Value::floating(double d) {
  Value r;
  r.type_ = Type::kFloat;
  r.dbl_ = d;
  return r;
}

std::optional<std::int64_t> Value::as_int() const {
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (type_ == Type::kUnsigned && raw_ <= kMax) return static_cast<std::int64_t>(raw_);
  if (type_ == Type::kNegative && raw_ <= kMax) return -1 - static_cast<std::int64_t>(raw_);
  return std::nullopt;
}

std::optional<bool> Value::as_bool() const {
  if (type_ != Type::kBool) return std::nullopt;
  return raw_ != 0;
}

const Value* Value::find(std::int64_t key) const {
  if (type_ != Type::kMap) return nullptr;
  for (const auto& [k, v] : entries_) {
    if (k.as_int() == key) return &v;
  }
  return nullptr;
}

const Value* Value::find(std::string_view key) const {
  if (type_ != Type::kMap) return nullptr;
  for (const auto& [k, v] : entries_) {
    if (const std::string* t = k.as_text(); t != nullptr && *t == key) return &v;
  }
  return nullptr;
}

bool operator==(const Value& a, const Value& b) {
  if (a.type_ != b.type_) return false;
  switch (a.type_) {
    case Type::kUnsigned:
    case Type::kNegative:
    case Type::kBool:
      return a.raw_ == b.raw_;
    case Type::kBytes:
    case Type::kText:
      return a.str_ == b.str_;
    case Type::kArray:
      return a.items_ == b.items_;
    case Type::kMap:
      return a.entries_ == b.entries_;
    case Type::kTag:
      return a.raw_ == b.raw_ && a.items_ == b.items_;
    case Type::kNull:
    case Type::kUndefined:
      return true;
    case Type::kFloat:
      return a.dbl_ == b.dbl_;
  }
  return false;
}

std::string_view to_string(DecodeError e) {
  switch (e) {
    case DecodeError::kEmpty:
      return "empty input";
    case DecodeError::kTruncated:
      return "input ends inside a CBOR item";
    case DecodeError::kMalformed:
      return "malformed CBOR";
    case DecodeError::kIndefinite:
      return "indefinite-length CBOR item";
    case DecodeError::kTag:
      return "tagged CBOR item";
    case DecodeError::kTooDeep:
      return "CBOR nested too deeply";
    case DecodeError::kTooManyItems:
      return "too many CBOR items";
    case DecodeError::kLengthTooLarge:
      return "CBOR length larger than the input";
    case DecodeError::kDuplicateKey:
      return "duplicate CBOR map key";
    case DecodeError::kTrailingBytes:
      return "bytes after the CBOR item";
  }
  return "unknown CBOR error";
}

// ---- decoder ---------------------------------------------------------------
//
// libcbor's cbor_load() would build its own tree, recursing on free and
// allocating whatever count a header declares; its streaming decoder only
// reads one header at a time. Driving the streaming decoder ourselves lets us
// bound depth, item count and allocations before anything is built.

namespace {

struct Frame {
  Value* node;               // the open array / map / tag (stable: see attach())
  std::uint64_t remaining;   // items still expected (maps count keys and values)
  bool pending_key = false;  // map: a key was attached, its value comes next
};

struct Builder {
  std::size_t input_left = 0;  // bytes after the header being decoded
  std::vector<Frame> stack;
  std::optional<Value> root;
  std::size_t items = 0;
  bool called = false;  // some callback ran for the last header
  std::optional<DecodeError> error;

  void fail(DecodeError e) {
    if (!error) error = e;
  }

  // Places a finished or just-opened value into its parent. Returns where it
  // now lives. A parent's vector only grows while it is the top frame, and a
  // child frame is pushed only after the child is placed, so pointers held in
  // the stack never dangle.
  Value* attach(Value v) {
    called = true;
    if (++items > kMaxItems) {
      fail(DecodeError::kTooManyItems);
      return nullptr;
    }
    if (stack.empty()) {
      root = std::move(v);
      return &*root;
    }
    Frame& top = stack.back();
    Value* placed = nullptr;
    switch (top.node->type()) {
      case Type::kArray:
      case Type::kTag:
        top.node->mutable_items().push_back(std::move(v));
        placed = &top.node->mutable_items().back();
        break;
      case Type::kMap: {
        auto& entries = top.node->mutable_entries();
        if (!top.pending_key) {
          entries.emplace_back(std::move(v), Value());
          placed = &entries.back().first;
          top.pending_key = true;
        } else {
          // The key is complete only now (it may itself be a container).
          for (std::size_t i = 0; i + 1 < entries.size(); ++i) {
            if (entries[i].first == entries.back().first) {
              fail(DecodeError::kDuplicateKey);
              return nullptr;
            }
          }
          entries.back().second = std::move(v);
          placed = &entries.back().second;
          top.pending_key = false;
        }
        break;
      }
      default:
        fail(DecodeError::kMalformed);
        return nullptr;
    }
    --top.remaining;
    return placed;
  }

  // Pops every container that has received all of its items.
  void close_finished() {
    while (!stack.empty() && stack.back().remaining == 0) stack.pop_back();
  }

  void leaf(Value v) {
    if (error) return;
    if (attach(std::move(v)) != nullptr) close_finished();
  }

  // `count` items follow (2 per map entry). Each needs at least one byte, so
  // a larger count than the bytes left is refused before reserving anything.
  void open(Value v, std::uint64_t count) {
    if (error) return;
    if (count > input_left) {
      called = true;
      fail(DecodeError::kLengthTooLarge);
      return;
    }
    if (stack.size() >= kMaxDepth) {
      called = true;
      fail(DecodeError::kTooDeep);
      return;
    }
    if (v.type() == Type::kArray) v.mutable_items().reserve(count);
    if (v.type() == Type::kMap) v.mutable_entries().reserve(count / 2);
    Value* placed = attach(std::move(v));
    if (placed == nullptr) return;
    if (count == 0) {
      close_finished();
      return;
    }
    stack.push_back(Frame{placed, count});
  }

  void refuse(DecodeError e) {
    called = true;
    fail(e);
  }
  void indefinite() { refuse(DecodeError::kIndefinite); }
  void malformed() {
    called = true;
    fail(DecodeError::kMalformed);
  }
};

Builder& ctx(void* p) { return *static_cast<Builder*>(p); }

std::string to_str(cbor_data d, std::size_t n) {
  return std::string(reinterpret_cast<const char*>(d), n);
}

cbor_callbacks make_callbacks() {
  cbor_callbacks cb = cbor_empty_callbacks;
  cb.uint8 = [](void* c, uint8_t v) { ctx(c).leaf(Value::unsigned_int(v)); };
  cb.uint16 = [](void* c, uint16_t v) { ctx(c).leaf(Value::unsigned_int(v)); };
  cb.uint32 = [](void* c, uint32_t v) { ctx(c).leaf(Value::unsigned_int(v)); };
  cb.uint64 = [](void* c, uint64_t v) { ctx(c).leaf(Value::unsigned_int(v)); };
  cb.negint8 = [](void* c, uint8_t v) { ctx(c).leaf(Value::negative_raw(v)); };
  cb.negint16 = [](void* c, uint16_t v) { ctx(c).leaf(Value::negative_raw(v)); };
  cb.negint32 = [](void* c, uint32_t v) { ctx(c).leaf(Value::negative_raw(v)); };
  cb.negint64 = [](void* c, uint64_t v) { ctx(c).leaf(Value::negative_raw(v)); };
  // libcbor names: byte_string/string are definite, *_start are indefinite.
  cb.byte_string = [](void* c, cbor_data d, size_t n) { ctx(c).leaf(Value::bytes(to_str(d, n))); };
  cb.string = [](void* c, cbor_data d, size_t n) { ctx(c).leaf(Value::text(to_str(d, n))); };
  cb.byte_string_start = [](void* c) { ctx(c).indefinite(); };
  cb.string_start = [](void* c) { ctx(c).indefinite(); };
  cb.indef_array_start = [](void* c) { ctx(c).indefinite(); };
  cb.indef_map_start = [](void* c) { ctx(c).indefinite(); };
  cb.array_start = [](void* c, size_t n) { ctx(c).open(Value::array({}), n); };
  cb.map_start = [](void* c, size_t n) {
    // 2n items; a count so large that doubling overflows cannot fit anyway.
    const std::uint64_t items = n > (std::numeric_limits<std::uint64_t>::max() / 2)
                                    ? std::numeric_limits<std::uint64_t>::max()
                                    : 2 * static_cast<std::uint64_t>(n);
    ctx(c).open(Value::map({}), items);
  };
  cb.tag = [](void* c, uint64_t) { ctx(c).refuse(DecodeError::kTag); };
  cb.float2 = [](void* c, float f) { ctx(c).leaf(Value::floating(f)); };
  cb.float4 = [](void* c, float f) { ctx(c).leaf(Value::floating(f)); };
  cb.float8 = [](void* c, double f) { ctx(c).leaf(Value::floating(f)); };
  cb.undefined = [](void* c) { ctx(c).leaf(Value::undefined()); };
  cb.null = [](void* c) { ctx(c).leaf(Value::null()); };
  cb.boolean = [](void* c, bool b) { ctx(c).leaf(Value::boolean(b)); };
  cb.indef_break = [](void* c) { ctx(c).malformed(); };
  return cb;
}

}  // namespace

tl::expected<Prefix, DecodeError> decode_prefix(std::string_view bytes) {
  if (bytes.empty()) return tl::make_unexpected(DecodeError::kEmpty);
  static const cbor_callbacks kCallbacks = make_callbacks();
  Builder b;
  std::size_t pos = 0;
  do {
    if (pos >= bytes.size()) return tl::make_unexpected(DecodeError::kTruncated);
    b.called = false;
    const auto* data = reinterpret_cast<cbor_data>(bytes.data() + pos);
    const std::size_t left = bytes.size() - pos;
    // Any declared count must fit in what follows the header's first byte; a
    // loose bound, but enough to cap every reserve() by the input size.
    b.input_left = left - 1;
    const cbor_decoder_result r = cbor_stream_decode(data, left, &kCallbacks, &b);
    if (b.error) return tl::make_unexpected(*b.error);
    if (r.status == CBOR_DECODER_NEDATA) return tl::make_unexpected(DecodeError::kTruncated);
    if (r.status != CBOR_DECODER_FINISHED || !b.called || r.read == 0) {
      return tl::make_unexpected(DecodeError::kMalformed);
    }
    pos += r.read;
  } while (!b.stack.empty());
  if (!b.root) return tl::make_unexpected(DecodeError::kMalformed);
  return Prefix{std::move(*b.root), pos};
}

tl::expected<Value, DecodeError> decode(std::string_view bytes) {
  auto p = decode_prefix(bytes);
  if (!p) return tl::make_unexpected(p.error());
  if (p->consumed != bytes.size()) return tl::make_unexpected(DecodeError::kTrailingBytes);
  return std::move(p->value);
}

// ---- encoder ---------------------------------------------------------------

namespace {

struct ItemDeleter {
  void operator()(cbor_item_t* p) const noexcept { cbor_decref(&p); }
};
using ItemPtr = std::unique_ptr<cbor_item_t, ItemDeleter>;

cbor_item_t* build_uint(std::uint64_t v) {
  if (v <= 0xff) return cbor_build_uint8(static_cast<uint8_t>(v));
  if (v <= 0xffff) return cbor_build_uint16(static_cast<uint16_t>(v));
  if (v <= 0xffffffffu) return cbor_build_uint32(static_cast<uint32_t>(v));
  return cbor_build_uint64(v);
}

cbor_item_t* build_negint(std::uint64_t raw) {
  if (raw <= 0xff) return cbor_build_negint8(static_cast<uint8_t>(raw));
  if (raw <= 0xffff) return cbor_build_negint16(static_cast<uint16_t>(raw));
  if (raw <= 0xffffffffu) return cbor_build_negint32(static_cast<uint32_t>(raw));
  return cbor_build_negint64(raw);
}

// Returns a new reference (refcount 1); parents take it over with cbor_move.
ItemPtr build(const Value& v) {
  switch (v.type()) {
    case Type::kUnsigned:
      return ItemPtr(build_uint(v.raw()));
    case Type::kNegative:
      return ItemPtr(build_negint(v.raw()));
    case Type::kBytes: {
      const std::string& s = *v.as_bytes();
      return ItemPtr(cbor_build_bytestring(reinterpret_cast<cbor_data>(s.data()), s.size()));
    }
    case Type::kText: {
      const std::string& s = *v.as_text();
      return ItemPtr(cbor_build_stringn(s.data(), s.size()));
    }
    case Type::kArray: {
      ItemPtr a(cbor_new_definite_array(v.as_array()->size()));
      for (const Value& item : *v.as_array()) {
        ItemPtr child = build(item);
        cbor_array_push(a.get(), cbor_move(child.release()));
      }
      return a;
    }
    case Type::kMap: {
      ItemPtr m(cbor_new_definite_map(v.as_map()->size()));
      for (const auto& [k, val] : *v.as_map()) {
        ItemPtr key = build(k);
        ItemPtr value = build(val);
        cbor_map_add(m.get(), cbor_pair{cbor_move(key.release()), cbor_move(value.release())});
      }
      return m;
    }
    case Type::kTag: {
      ItemPtr inner = v.tagged() != nullptr ? build(*v.tagged()) : ItemPtr(cbor_new_null());
      ItemPtr t(cbor_build_tag(v.tag_number(), inner.get()));  // takes its own reference
      return t;
    }
    case Type::kBool:
      return ItemPtr(cbor_build_bool(*v.as_bool()));
    case Type::kNull:
      return ItemPtr(cbor_new_null());
    case Type::kUndefined:
      return ItemPtr(cbor_new_undef());
    case Type::kFloat:
      return ItemPtr(cbor_build_float8(v.as_double()));
  }
  return ItemPtr(cbor_new_null());
}

}  // namespace

std::string encode(const Value& v) {
  ItemPtr item = build(v);
  unsigned char* buffer = nullptr;
  std::size_t capacity = 0;
  const std::size_t written = cbor_serialize_alloc(item.get(), &buffer, &capacity);
  std::string out(reinterpret_cast<const char*>(buffer), written);
  std::free(buffer);
  return out;
}

}  // namespace stepup::factors::cbor
