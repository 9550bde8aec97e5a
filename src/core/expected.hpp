// SPDX-License-Identifier: Apache-2.0
// Error, ErrorKind and Expected<T>: expected outcomes (bad input, not found, ...) as values.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace kiln::core {

enum class ErrorKind {
    bad_input,
    not_found,
    conflict,
    unavailable,
    unauthenticated,  // who is asking is unknown (HTTP 401)
    forbidden,        // who is asking may not do this (HTTP 403)
    not_supported,    // no such action here (HTTP 501)
    internal
};

std::string_view to_string(ErrorKind kind);

struct Error {
    ErrorKind kind = ErrorKind::internal;
    std::string message;
};

// Holds either a T or an Error. A small stand-in for C++23's std::expected.
template <typename T>
class [[nodiscard]] Expected {
public:
    Expected(T value)
        : state_(std::move(value)) {}  // NOLINT: implicit by design
    Expected(Error error)
        : state_(std::move(error)) {}  // NOLINT: implicit by design

    bool has_value() const { return state_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { return std::get<1>(state_); }

private:
    std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Expected<void> {
public:
    Expected() = default;
    Expected(Error error)
        : error_(std::move(error))
        , ok_(false) {}  // NOLINT: implicit

    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }

private:
    Error error_;
    bool ok_ = true;
};

inline Error fail(ErrorKind kind, std::string message) { return Error{kind, std::move(message)}; }

}  // namespace kiln::core
