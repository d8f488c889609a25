// The SQLite schema of stepup as an ordered list of migrations.
//
// Migration i (0-based) takes a database from PRAGMA user_version i to i+1.
// migrate() applies the missing ones at open, each in its own BEGIN IMMEDIATE
// transaction together with the user_version bump, so a crash leaves the file
// at a whole version and two processes opening at once cannot both apply the
// same step. A file whose user_version is newer than this code knows is
// refused with kCorrupt: an older binary must not write a newer schema.
//
// Append new migrations; never edit or reorder shipped ones.
//
// Thread-safety: migrate() uses the given connection only; call it before the
// connection is shared.
#pragma once
#include <span>
#include <string_view>

#include "store/sqlite_db.h"

namespace stepup::store::sqlite {

std::span<const std::string_view> migrations();

// Version the code knows: migrations().size().
int schema_version();

// Brings the database on `conn` to schema_version().
Status migrate(Connection& conn);

// The database's PRAGMA user_version.
Result<int> user_version(Connection& conn);

}  // namespace stepup::store::sqlite
