// Levels and methods: the assurance vocabulary of stepup.
//
// A level (aal1, aal2, ...) is published as the `acr` claim. Levels are ordered
// (config order, lowest first); a higher level satisfies a rule asking for a
// lower one. A level is reached by any one of its method sets (RFC 8176 names:
// pwd, otp, hwk, ...). A level with an `elevation` duration is held only for that
// long after the set that reached it was completed; the base level (no
// elevation) is held for the life of the session.
//
// LevelTable is immutable once built and safe to share between threads.
#pragma once
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.h"

namespace stepup::core {

using LevelIndex = int;  // position in LevelTable, 0 = lowest

struct Level {
  std::string name;                                  // config key, e.g. "aal2"
  std::string acr;                                   // published acr value
  std::vector<std::vector<std::string>> reached_by;  // any one set suffices
  std::optional<Seconds> elevation;                  // nullopt: held for the session's life
};

// One method with the last time the user proved it in this session.
struct MethodProof {
  std::string method;  // RFC 8176 name
  UnixTime at = 0;
};

// One level the session currently holds: reached at `reached_at` (the moment
// the last method of the satisfying set was proven), held until `until`.
struct Attainment {
  LevelIndex level = 0;
  UnixTime reached_at = 0;
  UnixTime until = kNever;
};

class LevelTable {
 public:
  LevelTable() = default;
  explicit LevelTable(std::vector<Level> levels);

  const std::vector<Level>& levels() const { return levels_; }
  std::optional<LevelIndex> find(std::string_view name_or_acr) const;
  const Level& at(LevelIndex i) const { return levels_.at(static_cast<size_t>(i)); }
  int size() const { return static_cast<int>(levels_.size()); }

  // Every level the proofs reach at `now`, best (latest reached_at) per level.
  // Elevated levels whose window has passed are left out: they lapse by themselves.
  std::vector<Attainment> attainments(std::span<const MethodProof> proofs, UnixTime now) const;

  // The highest level held at `now`, if any.
  std::optional<Attainment> highest(std::span<const MethodProof> proofs, UnixTime now) const;

 private:
  std::vector<Level> levels_;
};

}  // namespace stepup::core
