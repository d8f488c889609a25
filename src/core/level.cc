// LevelTable: which levels a set of method proofs reaches at a given moment.
#include "core/level.h"

#include <algorithm>
#include <limits>

namespace stepup::core {
namespace {

// Latest proof time of `method`, or nullopt when it was never proven. Sessions
// hold a handful of proofs, so a linear scan beats any index.
std::optional<UnixTime> proven_at(std::span<const MethodProof> proofs, std::string_view method) {
  std::optional<UnixTime> best;
  for (const MethodProof& p : proofs) {
    if (p.method == method && (!best || p.at > *best)) best = p.at;
  }
  return best;
}

// reached_at + elevation, saturating: an absurd elevation must not wrap around
// into the past and silently drop the level (or hold it forever by accident).
UnixTime add_saturating(UnixTime t, Seconds d) {
  UnixTime out;
  if (__builtin_add_overflow(t, d, &out))
    return d > 0 ? kNever : std::numeric_limits<UnixTime>::min();
  return out;
}

}  // namespace

LevelTable::LevelTable(std::vector<Level> levels) : levels_(std::move(levels)) {}

std::optional<LevelIndex> LevelTable::find(std::string_view name_or_acr) const {
  // Names win over acr values so that a level named like another level's acr
  // still resolves to itself.
  for (size_t i = 0; i < levels_.size(); ++i) {
    if (levels_[i].name == name_or_acr) return static_cast<LevelIndex>(i);
  }
  for (size_t i = 0; i < levels_.size(); ++i) {
    if (levels_[i].acr == name_or_acr) return static_cast<LevelIndex>(i);
  }
  return std::nullopt;
}

std::vector<Attainment> LevelTable::attainments(std::span<const MethodProof> proofs,
                                                UnixTime now) const {
  std::vector<Attainment> out;
  for (size_t i = 0; i < levels_.size(); ++i) {
    const Level& level = levels_[i];
    std::optional<UnixTime> best_reached;
    for (const auto& set : level.reached_by) {
      // An empty set would make a level reachable with no proof at all; config
      // rejects it, and here it simply never counts.
      if (set.empty()) continue;
      std::optional<UnixTime> reached;
      for (const std::string& method : set) {
        std::optional<UnixTime> at = proven_at(proofs, method);
        if (!at) {
          reached.reset();
          break;
        }
        reached = reached ? std::max(*reached, *at) : *at;
      }
      if (reached && (!best_reached || *reached > *best_reached)) best_reached = reached;
    }
    if (!best_reached) continue;
    // All sets of one level share its elevation, so the latest set is also
    // the one held longest: checking only it is enough.
    UnixTime until = level.elevation ? add_saturating(*best_reached, *level.elevation) : kNever;
    if (level.elevation && !(now < until)) continue;
    out.push_back(Attainment{static_cast<LevelIndex>(i), *best_reached, until});
  }
  return out;
}

std::optional<Attainment> LevelTable::highest(std::span<const MethodProof> proofs,
                                              UnixTime now) const {
  std::vector<Attainment> held = attainments(proofs, now);
  if (held.empty()) return std::nullopt;
  return held.back();  // attainments() is ordered by level index
}

}  // namespace stepup::core
