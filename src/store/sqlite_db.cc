#include "store/sqlite_db.h"

#include <sqlite3.h>

#include <utility>

namespace stepup::store::sqlite {

StoreError map_error(int rc) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return StoreError::kConflict;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      // Inserting a child whose parent is missing: for callers this is "no
      // such user/session", which kNotFound says better than kIo.
      return StoreError::kNotFound;
    default:
      break;
  }
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return StoreError::kBusy;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return StoreError::kCorrupt;
    default:
      return StoreError::kIo;
  }
}

void ConnectionCloser::operator()(sqlite3* db) const {
  // v2 defers the close if a statement were still alive instead of failing;
  // the cache is destroyed first, so this is belt and braces.
  sqlite3_close_v2(db);
}

void StatementFinalizer::operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }

// ---- Query ----

Query::~Query() {
  if (stmt_ != nullptr) {
    // Reset releases the statement's read snapshot and locks; clearing the
    // bindings keeps a secret bound by one caller out of the next one's reach.
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

namespace {
Status bind_result(int rc) {
  if (rc == SQLITE_OK) return {};
  return tl::unexpected(map_error(rc));
}
}  // namespace

Query& Query::bind(int index, std::int64_t value) {
  if (bind_status_) bind_status_ = bind_result(sqlite3_bind_int64(stmt_, index, value));
  return *this;
}

Query& Query::bind(int index, std::string_view text) {
  // SQLITE_TRANSIENT: SQLite copies, so temporaries passed by callers are fine.
  // A null data pointer would bind NULL, which the NOT NULL columns refuse.
  const char* data = text.data() != nullptr ? text.data() : "";
  if (bind_status_) {
    bind_status_ = bind_result(
        sqlite3_bind_text64(stmt_, index, data, text.size(), SQLITE_TRANSIENT, SQLITE_UTF8));
  }
  return *this;
}

Query& Query::bind(int index, Blob blob) {
  const char* data = blob.bytes.data() != nullptr ? blob.bytes.data() : "";
  if (bind_status_) {
    bind_status_ =
        bind_result(sqlite3_bind_blob64(stmt_, index, data, blob.bytes.size(), SQLITE_TRANSIENT));
  }
  return *this;
}

Query& Query::bind(int index, const std::optional<std::int64_t>& value) {
  if (value) return bind(index, *value);
  if (bind_status_) bind_status_ = bind_result(sqlite3_bind_null(stmt_, index));
  return *this;
}

Result<bool> Query::step() {
  if (!bind_status_) return tl::unexpected(bind_status_.error());
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return tl::unexpected(map_error(rc));
}

Status Query::run() {
  for (;;) {
    auto more = step();
    if (!more) return tl::unexpected(more.error());
    if (!*more) return {};
  }
}

bool Query::is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

std::int64_t Query::int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Query::text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

std::string Query::blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  if (p == nullptr) return {};
  return std::string(p, static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

// ---- Connection ----

Result<Connection> Connection::open(const std::string& path, int busy_timeout_ms) {
  sqlite3* raw = nullptr;
  const int flags = SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_CREATE | SQLITE_OPEN_READWRITE;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Connection conn;
  conn.db_.reset(raw);  // sqlite3_open_v2 may hand back a handle even on failure
  if (rc != SQLITE_OK) return tl::unexpected(map_error(rc));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, busy_timeout_ms);
  // Per connection, not persistent in the file: every connection must ask.
  if (auto s = conn.exec("PRAGMA foreign_keys=ON"); !s) return tl::unexpected(s.error());
  return conn;
}

Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    cache_.clear();  // finalize ours before our handle goes
    db_ = std::move(other.db_);
    cache_ = std::move(other.cache_);
  }
  return *this;
}
Connection::~Connection() { cache_.clear(); }

Result<Query> Connection::prepare(std::string_view sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db_.get(), sql.data(), static_cast<int>(sql.size()),
                                      SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    if (rc != SQLITE_OK) {
      sqlite3_finalize(raw);
      return tl::unexpected(map_error(rc));
    }
    it = cache_.emplace(std::string(sql), std::unique_ptr<sqlite3_stmt, StatementFinalizer>(raw))
             .first;
  }
  return Query(it->second.get());
}

Status Connection::exec(const char* sql) {
  const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
  if (rc == SQLITE_OK) return {};
  return tl::unexpected(map_error(sqlite3_extended_errcode(db_.get())));
}

bool Connection::in_transaction() const { return sqlite3_get_autocommit(db_.get()) == 0; }

std::int64_t Connection::changes() const { return sqlite3_changes64(db_.get()); }
std::int64_t Connection::last_insert_rowid() const { return sqlite3_last_insert_rowid(db_.get()); }
std::string Connection::last_message() const { return sqlite3_errmsg(db_.get()); }

// ---- Transaction ----

Result<Transaction> Transaction::begin(Connection& conn, Mode mode) {
  const char* sql = mode == Mode::kImmediate ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED";
  if (auto s = conn.exec(sql); !s) return tl::unexpected(s.error());
  return Transaction(&conn);
}

Transaction::~Transaction() {
  // A failed ROLLBACK leaves nothing better to do: SQLite has already rolled
  // back on the errors that make ROLLBACK fail.
  if (conn_ != nullptr) (void)conn_->exec("ROLLBACK");
}

Status Transaction::commit() {
  if (conn_ == nullptr) return tl::unexpected(StoreError::kIo);
  auto s = conn_->exec("COMMIT");
  // On failure (e.g. SQLITE_BUSY) the transaction is still open; the
  // destructor rolls it back so the connection is usable again.
  if (s) conn_ = nullptr;
  return s;
}

}  // namespace stepup::store::sqlite
