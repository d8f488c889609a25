#include "service/enforcement.h"

#include <array>
#include <atomic>
#include <functional>
#include <string>

namespace stepup::service {

namespace {

std::atomic<std::uint64_t> next_enforcement_id{1};

// Per-thread memo of rule matches. A gateway asks about the same routes over
// and over, and matching walks the rule list with glob matches; the policy is
// immutable, so (method, host, path) -> rule never changes for one instance.
// Direct-mapped, no lock, no allocation once a slot's string has grown. Keys
// keep the three parts' lengths, so no two requests can share a key.
struct MatchMemo {
  static constexpr std::size_t kSlots = 1024;
  static constexpr std::size_t kMaxKey = 512;  // longer requests are matched every time
  struct Slot {
    std::string key;
    std::uint32_t method_len = 0;
    std::uint32_t host_len = 0;
    const core::Rule* rule = nullptr;
  };
  std::uint64_t owner = 0;
  std::array<Slot, kSlots> slots;
};
thread_local MatchMemo tl_memo;

}  // namespace

Enforcement::Enforcement(const config::Config& cfg, Sessions& sessions, const Clock& clock)
    : id_(next_enforcement_id.fetch_add(1, std::memory_order_relaxed)),
      cfg_(cfg),
      sessions_(sessions),
      clock_(clock) {}

const core::Rule& Enforcement::match(const core::RequestFacts& req) const {
  const std::size_t len = req.method.size() + req.host.size() + req.path.size();
  // Paths with dot segments (rare) are matched every time: their literal
  // reading is not part of the key.
  if (len > MatchMemo::kMaxKey || !req.literal_path.empty()) return cfg_.policy.match(req);
  auto& memo = tl_memo;
  if (memo.owner != id_) {
    for (auto& slot : memo.slots) slot.rule = nullptr;
    memo.owner = id_;
  }
  const std::hash<std::string_view> h;
  const std::size_t at =
      (h(req.path) ^ (h(req.host) * 0x9e3779b97f4a7c15ULL) ^ (h(req.method) << 1)) %
      MatchMemo::kSlots;
  auto& slot = memo.slots[at];
  if (slot.rule != nullptr && slot.key.size() == len && slot.method_len == req.method.size() &&
      slot.host_len == req.host.size()) {
    const std::string_view k(slot.key);
    if (k.substr(0, slot.method_len) == req.method &&
        k.substr(slot.method_len, slot.host_len) == req.host &&
        k.substr(slot.method_len + slot.host_len) == req.path) {
      return *slot.rule;
    }
  }
  const core::Rule& rule = cfg_.policy.match(req);
  slot.key.assign(req.method);
  slot.key.append(req.host);
  slot.key.append(req.path);
  slot.method_len = static_cast<std::uint32_t>(req.method.size());
  slot.host_len = static_cast<std::uint32_t>(req.host.size());
  slot.rule = &rule;
  return rule;
}

Result<Authenticated> Enforcement::authenticate(const Credential& cred) {
  if (!cred.bearer.empty()) return sessions_.from_bearer(cred.bearer);
  if (!cred.cookie.empty()) return sessions_.from_cookie(cred.cookie);
  return fail(ErrorCode::kInvalidToken, "No session cookie or bearer token");
}

Result<Verdict> Enforcement::decide(const core::RequestFacts& req, const Credential& cred) {
  const core::Rule& rule = match(req);
  Verdict v;
  const auto now = clock_.now();
  if (rule.spec.effect != core::RuleEffect::kRequire) {
    // Public and deny rules do not depend on who asks: no credential lookup.
    v.decision = core::decide(rule, nullptr, now);
    return v;
  }
  auto who = authenticate(cred);
  if (!who) {
    if (who.error().code == ErrorCode::kInvalidToken) {
      v.decision = core::decide(rule, nullptr, now);
      v.login_reason = who.error().description;
      return v;
    }
    return tl::unexpected(who.error());  // store trouble: could not decide
  }
  core::Principal p{who->session.subject, who->session.public_id, who->held,
                    cfg_.tokens.clock_skew};
  v.decision = core::decide(rule, &p, now);
  v.who = std::move(*who);
  return v;
}

}  // namespace stepup::service
