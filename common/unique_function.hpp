// A move-only std::function: completion handlers (Asio's, Beast's, a
// coroutine's) can be moved but not copied, and Boost 1.81 has no
// any_completion_handler yet. The callable lives on the heap: completion
// handlers are larger than any inline buffer worth carrying in every bridge.
#pragma once

#include <concepts>
#include <memory>
#include <type_traits>
#include <utility>

namespace burrow {

template <class Signature>
class unique_function;

template <class R, class... Args>
class unique_function<R(Args...)> {
public:
    unique_function() = default;

    template <class F>
        requires(!std::same_as<std::decay_t<F>, unique_function> &&
                 std::invocable<std::decay_t<F>, Args...>)
    unique_function(F&& f)  // NOLINT(google-explicit-constructor): a callable is a function
        : impl_(std::make_unique<holder<std::decay_t<F>>>(std::forward<F>(f))) {}

    explicit operator bool() const noexcept { return impl_ != nullptr; }

    // Calls and empties: a completion handler runs once.
    R operator()(Args... args) {
        auto impl = std::move(impl_);
        return impl->call(std::forward<Args>(args)...);
    }

private:
    struct callable {
        virtual ~callable() = default;
        virtual R call(Args... args) = 0;
    };
    template <class F>
    struct holder final : callable {
        template <class G>
        explicit holder(G&& g) : f(std::forward<G>(g)) {}
        R call(Args... args) override { return std::move(f)(std::forward<Args>(args)...); }
        F f;
    };

    std::unique_ptr<callable> impl_;
};

}  // namespace burrow
