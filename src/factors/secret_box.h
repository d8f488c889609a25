// SecretBox: encrypts factor secrets at rest so a stolen database file alone
// reveals nothing (XChaCha20-Poly1305 from libsodium, 256-bit keys).
//
// Keys live in key files outside the database (32 random bytes, base64, mode
// 0600). The current key seals; old keys (listed in config) still open, so a
// key can be rotated without re-enrolling anyone. A sealed value is
// "v1.<key id>.<base64url(nonce || ciphertext)>", the key id being the first 8
// hex chars of SHA-256(key). The associated data binds a ciphertext to its
// owner (e.g. the factor id) so rows cannot be swapped. Immutable after
// creation: thread-safe.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <tl/expected.hpp>
#include <vector>

namespace stepup::factors {

class SecretBox {
 public:
  // Reads `key_file` (creating it with a fresh key, mode 0600, when missing and
  // `create_if_missing`), plus optional old key files for decryption only.
  static tl::expected<SecretBox, std::string> from_files(
      const std::string& key_file, const std::vector<std::string>& old_key_files,
      bool create_if_missing);
  // From raw 32-byte keys (tests).
  static tl::expected<SecretBox, std::string> from_keys(std::string current,
                                                        std::vector<std::string> old = {});
  ~SecretBox();
  SecretBox(SecretBox&&) noexcept;
  SecretBox& operator=(SecretBox&&) noexcept;

  std::string seal(std::string_view plaintext, std::string_view associated_data) const;
  // nullopt when tampered, wrong associated data, or the key is unknown.
  std::optional<std::string> open(std::string_view sealed, std::string_view associated_data) const;
  // True when `sealed` was made with an old key (re-seal it with the current one).
  bool needs_reseal(std::string_view sealed) const;
  const std::string& current_key_id() const;

 private:
  struct Impl;
  explicit SecretBox(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace stepup::factors
