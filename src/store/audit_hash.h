// The audit log's hash chain: how one row's hash is computed.
//
// Every audit row carries prev_hash (the hash of the row before it, or 64 '0'
// characters for the first row) and hash = audit_row_hash(row, prev_hash).
// The store fills both when appending; the service layer recomputes them to
// verify that no row was altered, removed or reordered.
//
// Canonical serialization (what is hashed, all bytes, no locale):
//
//   hash = lowercase hex SHA-256 of   prev_hash "\n" F(seq) F(at) F(event)
//                                     F(subject) F(session) F(ip)
//                                     F(user_agent) F(details)
//   F(x) = decimal byte length of x, ":", the bytes of x, ","
//
// Integers (seq, at) are written in decimal ASCII with a leading '-' when
// negative and no leading zeros, then framed by F like the strings. Because
// every field is length-prefixed, no choice of field contents can make two
// different rows serialize to the same bytes (e.g. event "a,b" vs "a" + "b").
// The row's own prev_hash/hash members are ignored; prev_hash is the argument.
//
// Pure functions; safe from any thread.
#pragma once
#include <string>
#include <string_view>

#include "store/store.h"

namespace stepup::store {

// prev_hash of the first row in the chain.
inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

// The bytes hashed for `e` (after prev_hash and "\n"); exposed for tests and tools.
std::string audit_canonical(const AuditEvent& e);

// 64 lowercase hex chars: SHA-256(prev_hash + "\n" + audit_canonical(e)).
std::string audit_row_hash(const AuditEvent& e, std::string_view prev_hash);

}  // namespace stepup::store
