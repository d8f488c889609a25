// Thin RAII layer over the SQLite C API, private to store/.
//
// Connection owns one sqlite3 handle and a cache of prepared statements keyed
// by SQL text. prepare() hands out a Query that borrows a cached statement and
// resets it (and clears its bindings) when the Query leaves scope, so the next
// user of the same SQL starts clean. Transaction rolls back in its destructor
// unless commit() succeeded.
//
// Thread-safety: a Connection, its Queries and Transactions belong to one
// thread at a time; the caller serialises access (SqliteStore holds a mutex
// or a pool lease). Two Queries of the same SQL text must not be alive at the
// same time on one Connection (they would share one statement).
//
// Errors from SQLite are mapped to StoreError here, at the edge: the rest of
// stepup never sees an sqlite result code.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;

namespace stepup::store::sqlite {

// Maps an (extended) SQLite result code to the store's error enum.
//   CONSTRAINT_UNIQUE / CONSTRAINT_PRIMARYKEY -> kConflict
//   CONSTRAINT_FOREIGNKEY                     -> kNotFound (the referenced row is missing)
//   BUSY / LOCKED                             -> kBusy
//   CORRUPT / NOTADB                          -> kCorrupt
//   anything else                             -> kIo
StoreError map_error(int rc);

// Marks a value to be bound as a BLOB (bytes) instead of TEXT.
struct Blob {
  std::string_view bytes;
};

struct ConnectionCloser {
  void operator()(sqlite3* db) const;
};
struct StatementFinalizer {
  void operator()(sqlite3_stmt* stmt) const;
};

// One execution of a cached prepared statement. Bind parameters are 1-based,
// column indexes 0-based (SQLite's conventions).
class Query {
 public:
  explicit Query(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Query();
  Query(Query&& other) noexcept : stmt_(other.stmt_), bind_status_(other.bind_status_) {
    other.stmt_ = nullptr;
  }
  Query& operator=(Query&&) = delete;
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;

  Query& bind(int index, std::int64_t value);
  Query& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Query& bind(int index, bool value) { return bind(index, static_cast<std::int64_t>(value)); }
  Query& bind(int index, std::string_view text);
  Query& bind(int index, const std::string& text) { return bind(index, std::string_view(text)); }
  Query& bind(int index, const char* text) { return bind(index, std::string_view(text)); }
  Query& bind(int index, Blob blob);
  // nullopt binds SQL NULL (for the few nullable columns).
  Query& bind(int index, const std::optional<std::int64_t>& value);

  // Binds every argument in order, starting at parameter 1.
  template <class... Args>
  Query& bind_all(const Args&... args) {
    int i = 0;
    (bind(++i, args), ...);
    return *this;
  }

  // true: a row is available; false: the statement is done.
  Result<bool> step();
  // Runs a statement that returns no rows (or whose rows are ignored).
  Status run();

  bool is_null(int col) const;
  std::int64_t int64(int col) const;
  std::string text(int col) const;
  std::string blob(int col) const;

 private:
  sqlite3_stmt* stmt_;
  Status bind_status_;  // first bind failure, reported by step()
};

class Connection {
 public:
  // Opens `path` with SQLITE_OPEN_FULLMUTEX|CREATE|READWRITE, extended result
  // codes, foreign keys on and the given busy timeout.
  static Result<Connection> open(const std::string& path, int busy_timeout_ms);

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();

  // A statement from this connection's cache (prepared once, persistent).
  Result<Query> prepare(std::string_view sql);
  // Runs one or more statements without caching (schema, pragmas, BEGIN/COMMIT).
  Status exec(const char* sql);
  // Rows changed by the most recent INSERT/UPDATE/DELETE.
  std::int64_t changes() const;
  std::int64_t last_insert_rowid() const;
  // False when no transaction is open (also after SQLite rolled one back by
  // itself, as it does on some I/O and out-of-memory errors).
  bool in_transaction() const;
  // SQLite's message for the most recent failure on this connection.
  std::string last_message() const;

 private:
  Connection() = default;
  std::unique_ptr<sqlite3, ConnectionCloser> db_;
  // Declared after db_ so the statements are finalized before the handle closes.
  std::map<std::string, std::unique_ptr<sqlite3_stmt, StatementFinalizer>, std::less<>> cache_;
};

// A transaction on one Connection. BEGIN IMMEDIATE takes the write lock up
// front, so a read-then-write body cannot fail half-way with SQLITE_BUSY on
// lock upgrade (and waits up to the busy timeout for other writers).
class Transaction {
 public:
  enum class Mode { kDeferred, kImmediate };
  static Result<Transaction> begin(Connection& conn, Mode mode);

  Transaction(Transaction&& other) noexcept : conn_(other.conn_) { other.conn_ = nullptr; }
  Transaction& operator=(Transaction&&) = delete;
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();  // rolls back unless committed

  Status commit();

 private:
  explicit Transaction(Connection* conn) : conn_(conn) {}
  Connection* conn_;  // null once committed, rolled back or moved from
};

}  // namespace stepup::store::sqlite
