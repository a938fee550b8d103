// common/result.h — the error type every beemesh component returns.
//
// Promise: a Result<T> holds either a value or an Error; an Error always has a
// machine-readable `code` (snake_case, stable, safe to match on) and a human
// message saying what was wrong and where. No component throws across its
// public API; failures travel as Error values.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace beemesh {

struct Error {
  std::string code;     // e.g. "bad_signature", "invalid_manifest", "timeout"
  std::string message;  // e.g. "web.yaml doc 1: spec.containers[0].image: missing"

  std::string to_string() const { return code + ": " + message; }
};

inline Error make_error(std::string code, std::string message) {
  return Error{std::move(code), std::move(message)};
}

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : data_(std::move(value)) {}      // NOLINT(implicit)
  Result(Error error) : data_(std::move(error)) {}  // NOLINT(implicit)

  bool ok() const { return std::holds_alternative<T>(data_); }
  explicit operator bool() const { return ok(); }

  T& value() & {
    assert(ok());
    return std::get<T>(data_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(data_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(data_));
  }
  T value_or(T fallback) const { return ok() ? std::get<T>(data_) : std::move(fallback); }

  const Error& error() const {
    assert(!ok());
    return std::get<Error>(data_);
  }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  std::variant<T, Error> data_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(implicit)

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const {
    assert(!ok_);
    return error_;
  }

 private:
  Error error_;
  bool ok_ = true;
};

inline Result<void> ok_result() {
  return {};
}

// Returns the Error of `expr` (a Result) from the enclosing function when it failed.
#define BEEMESH_TRY(expr)        \
  do {                           \
    if (auto _r = (expr); !_r) { \
      return _r.error();         \
    }                            \
  } while (false)

// BEEMESH_TRY for coroutines.
#define BEEMESH_CO_TRY(expr)     \
  do {                           \
    if (auto _r = (expr); !_r) { \
      co_return _r.error();      \
    }                            \
  } while (false)

}  // namespace beemesh
