#include "factors/secret_box.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace stepup::factors {
namespace {

constexpr std::size_t kKeyLen = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;     // 32
constexpr std::size_t kNonceLen = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;  // 24
constexpr std::size_t kTagLen = crypto_aead_xchacha20poly1305_ietf_ABYTES;       // 16
constexpr std::size_t kKeyIdLen = 8;
constexpr std::string_view kVersion = "v1";
// A key file holds 44 base64 chars and a newline; anything much larger is
// the wrong file, and reading it whole would be pointless.
constexpr std::size_t kMaxKeyFileSize = 1024;

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

// Key bytes live in sodium_malloc'd memory: guard pages, mlock'd where the
// system allows (kept out of swap and core dumps), zeroed by sodium_free.
struct SodiumFree {
  void operator()(unsigned char* p) const noexcept { sodium_free(p); }
};
using KeyBytes = std::unique_ptr<unsigned char, SodiumFree>;

struct Key {
  std::string id;
  KeyBytes bytes;
};

// Closes a file descriptor on every path out.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  // close() can report a failed deferred write; callers that wrote check it.
  int release_and_close() {
    const int rc = ::close(fd_);
    fd_ = -1;
    return rc;
  }

 private:
  int fd_;
};

std::string errno_text() { return std::strerror(errno); }

// Copies `raw` into guarded memory and wipes the caller's copy.
tl::expected<Key, std::string> make_key(std::string& raw) {
  if (raw.size() != kKeyLen) {
    const std::size_t n = raw.size();
    sodium_memzero(raw.data(), raw.size());
    return tl::unexpected("a secret box key must be " + std::to_string(kKeyLen) + " bytes, got " +
                          std::to_string(n));
  }
  if (!sodium_ready()) return tl::unexpected(std::string("libsodium failed to initialise"));
  KeyBytes bytes{static_cast<unsigned char*>(sodium_malloc(kKeyLen))};
  if (!bytes) return tl::unexpected(std::string("out of memory for a secret box key"));
  std::memcpy(bytes.get(), raw.data(), kKeyLen);
  std::string id = crypto::sha256_hex(std::string_view(raw.data(), kKeyLen)).substr(0, kKeyIdLen);
  sodium_memzero(raw.data(), raw.size());
  // Nothing writes to a key after this point; make accidental writes fault.
  sodium_mprotect_readonly(bytes.get());
  return Key{std::move(id), std::move(bytes)};
}

// Writes a fresh key file. O_EXCL means two processes starting at once
// cannot both write a key: the loser gets EEXIST and reads the winner's.
tl::expected<bool, std::string> create_key_file(const std::string& path) {
  Fd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
  if (fd.get() < 0) {
    if (errno == EEXIST) return false;
    return tl::unexpected("cannot create key file " + path + ": " + errno_text());
  }
  std::string raw(kKeyLen, '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string text = crypto::base64_encode(raw) + "\n";
  sodium_memzero(raw.data(), raw.size());
  std::size_t done = 0;
  bool ok = true;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      ok = false;
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  sodium_memzero(text.data(), text.size());
  // A key lost to a crash after users enrolled would orphan every sealed
  // secret, so make it durable before anything is sealed with it.
  if (!ok || ::fsync(fd.get()) != 0 || fd.release_and_close() != 0) {
    const std::string why = errno_text();
    ::unlink(path.c_str());
    return tl::unexpected("cannot write key file " + path + ": " + why);
  }
  return true;
}

tl::expected<std::string, std::string> read_key_file(const std::string& path) {
  Fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (fd.get() < 0) return tl::unexpected("cannot open key file " + path + ": " + errno_text());
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) {
    return tl::unexpected("cannot stat key file " + path + ": " + errno_text());
  }
  if (!S_ISREG(st.st_mode)) return tl::unexpected("key file " + path + " is not a regular file");
  if ((st.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return tl::unexpected("key file " + path +
                          " is readable or writable by group or others (mode " + mode +
                          "); run: chmod 600 " + path);
  }
  if (static_cast<std::size_t>(st.st_size) > kMaxKeyFileSize) {
    return tl::unexpected("key file " + path + " is too large to be a key file");
  }
  std::string text(kMaxKeyFileSize + 1, '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    const ssize_t n = ::read(fd.get(), text.data() + got, text.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      const std::string why = errno_text();
      sodium_memzero(text.data(), text.size());
      return tl::unexpected("cannot read key file " + path + ": " + why);
    }
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  if (got > kMaxKeyFileSize) {
    sodium_memzero(text.data(), text.size());
    return tl::unexpected("key file " + path + " is too large to be a key file");
  }
  std::size_t len = got;
  if (len > 0 && text[len - 1] == '\n') --len;
  if (len > 0 && text[len - 1] == '\r') --len;

  std::string raw(kKeyLen + 1, '\0');  // one spare byte detects too-long keys
  std::size_t raw_len = 0;
  const int rc =
      sodium_base642bin(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), text.data(), len,
                        nullptr, &raw_len, nullptr, sodium_base64_VARIANT_ORIGINAL);
  sodium_memzero(text.data(), text.size());
  if (rc != 0 || raw_len != kKeyLen) {
    sodium_memzero(raw.data(), raw.size());
    return tl::unexpected("key file " + path + " must hold exactly " + std::to_string(kKeyLen) +
                          " bytes as standard base64 (44 characters, optional newline)");
  }
  raw.resize(kKeyLen);
  return raw;
}

struct Parsed {
  std::string_view key_id;
  std::string_view body;  // base64url(nonce || ciphertext)
};

std::optional<Parsed> parse_sealed(std::string_view sealed) {
  if (sealed.size() < kVersion.size() + 1 + kKeyIdLen + 1) return std::nullopt;
  if (sealed.substr(0, kVersion.size()) != kVersion || sealed[kVersion.size()] != '.') {
    return std::nullopt;
  }
  const std::string_view rest = sealed.substr(kVersion.size() + 1);
  if (rest[kKeyIdLen] != '.') return std::nullopt;
  return Parsed{rest.substr(0, kKeyIdLen), rest.substr(kKeyIdLen + 1)};
}

}  // namespace

struct SecretBox::Impl {
  Key current;
  std::vector<Key> old;

  const Key* find(std::string_view id) const {
    // Key ids are public (they are in every sealed value): plain compare.
    if (current.id == id) return &current;
    for (const Key& k : old) {
      if (k.id == id) return &k;
    }
    return nullptr;
  }
};

SecretBox::SecretBox(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
// sodium_free (via KeyBytes) zeroes the key memory before releasing it.
SecretBox::~SecretBox() = default;
SecretBox::SecretBox(SecretBox&&) noexcept = default;
SecretBox& SecretBox::operator=(SecretBox&&) noexcept = default;

tl::expected<SecretBox, std::string> SecretBox::from_keys(std::string current,
                                                          std::vector<std::string> old) {
  auto cur = make_key(current);
  if (!cur) {
    for (std::string& o : old) sodium_memzero(o.data(), o.size());
    return tl::unexpected("current key: " + cur.error());
  }
  auto impl = std::make_unique<Impl>();
  impl->current = std::move(*cur);
  for (std::size_t i = 0; i < old.size(); ++i) {
    auto k = make_key(old[i]);
    if (!k) {
      for (std::size_t j = i + 1; j < old.size(); ++j) sodium_memzero(old[j].data(), old[j].size());
      return tl::unexpected("old key " + std::to_string(i + 1) + ": " + k.error());
    }
    // The same key listed twice (or the current key among the old ones) is
    // harmless; keep the first so needs_reseal stays false for current seals.
    if (impl->find(k->id) != nullptr) {
      if (sodium_memcmp(impl->find(k->id)->bytes.get(), k->bytes.get(), kKeyLen) == 0) continue;
      return tl::unexpected("old key " + std::to_string(i + 1) +
                            ": key id collides with another key (" + k->id + ")");
    }
    impl->old.push_back(std::move(*k));
  }
  return SecretBox(std::move(impl));
}

tl::expected<SecretBox, std::string> SecretBox::from_files(
    const std::string& key_file, const std::vector<std::string>& old_key_files,
    bool create_if_missing) {
  if (!sodium_ready()) return tl::unexpected(std::string("libsodium failed to initialise"));
  if (create_if_missing) {
    struct stat st {};
    if (::stat(key_file.c_str(), &st) != 0 && errno == ENOENT) {
      auto created = create_key_file(key_file);
      if (!created) return tl::unexpected(created.error());
    }
  }
  auto current = read_key_file(key_file);
  if (!current) return tl::unexpected(current.error());
  std::vector<std::string> old;
  for (const std::string& f : old_key_files) {
    auto k = read_key_file(f);
    if (!k) {
      sodium_memzero(current->data(), current->size());
      for (std::string& o : old) sodium_memzero(o.data(), o.size());
      return tl::unexpected(k.error());
    }
    old.push_back(std::move(*k));
  }
  return from_keys(std::move(*current), std::move(old));
}

std::string SecretBox::seal(std::string_view plaintext, std::string_view associated_data) const {
  std::string blob(kNonceLen + plaintext.size() + kTagLen, '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(blob.data());
  // 192-bit random nonces: collisions are negligible without any counter
  // state, which is the point of XChaCha over ChaCha for many writers.
  randombytes_buf(nonce, kNonceLen);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      nonce + kNonceLen, &clen, reinterpret_cast<const unsigned char*>(plaintext.data()),
      plaintext.size(), reinterpret_cast<const unsigned char*>(associated_data.data()),
      associated_data.size(), nullptr, nonce, impl_->current.bytes.get());
  blob.resize(kNonceLen + static_cast<std::size_t>(clen));
  std::string out;
  out.reserve(kVersion.size() + kKeyIdLen + 2 + blob.size() * 4 / 3 + 4);
  out += kVersion;
  out += '.';
  out += impl_->current.id;
  out += '.';
  out += crypto::base64url_encode(blob);
  return out;
}

std::optional<std::string> SecretBox::open(std::string_view sealed,
                                           std::string_view associated_data) const {
  const auto parsed = parse_sealed(sealed);
  if (!parsed) return std::nullopt;
  const Key* key = impl_->find(parsed->key_id);
  if (key == nullptr) return std::nullopt;
  const auto blob = crypto::base64url_decode(parsed->body);
  if (!blob || blob->size() < kNonceLen + kTagLen) return std::nullopt;
  const auto* bytes = reinterpret_cast<const unsigned char*>(blob->data());
  std::string plain(blob->size() - kNonceLen - kTagLen, '\0');
  unsigned long long plen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          reinterpret_cast<unsigned char*>(plain.data()), &plen, nullptr, bytes + kNonceLen,
          blob->size() - kNonceLen, reinterpret_cast<const unsigned char*>(associated_data.data()),
          associated_data.size(), bytes, key->bytes.get()) != 0) {
    return std::nullopt;
  }
  plain.resize(static_cast<std::size_t>(plen));
  return plain;
}

bool SecretBox::needs_reseal(std::string_view sealed) const {
  const auto parsed = parse_sealed(sealed);
  if (!parsed || parsed->key_id == impl_->current.id) return false;
  for (const Key& k : impl_->old) {
    if (k.id == parsed->key_id) return true;
  }
  return false;
}

const std::string& SecretBox::current_key_id() const { return impl_->current.id; }

}  // namespace stepup::factors
