// A strand whose handlers may run on the thread that completes an operation,
// whichever thread that is.
//
// asio::strand runs a dispatched handler inline only on a thread that runs
// its io_context; from any other thread (a gRPC reaction delivering a frame)
// it posts, and an Asio thread has to be woken to run it: a futex wake and a
// context switch per completion. Over `inline_executor`, a strand that is not
// busy runs the handler right there instead, still one handler at a time.
// post/defer (blocking.never) still go through the io_context.
//
// Only for code that never blocks and holds no lock of its caller's while a
// handler runs: Burrow's completions come from Asio's reactor, from gRPC
// reactions and from a pump after it released its lock.
#pragma once

#include <type_traits>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/query.hpp>
#include <boost/asio/require.hpp>
#include <boost/asio/strand.hpp>

namespace burrow {

// An io_context executor that runs functions inline when allowed to block
// (dispatch), and forwards blocking.never work (post) to the io_context.
template <class Inner>
class inline_executor {
public:
    explicit inline_executor(Inner inner) noexcept : inner_(std::move(inner)) {}

    template <class Property>
        requires boost::asio::can_query<const Inner&, Property>::value
    decltype(auto) query(const Property& p) const noexcept {
        return boost::asio::query(inner_, p);
    }

    template <class Property>
        requires boost::asio::can_require<const Inner&, Property>::value
    auto require(const Property& p) const noexcept {
        using next = std::decay_t<decltype(boost::asio::require(inner_, p))>;
        return inline_executor<next>(boost::asio::require(inner_, p));
    }

    template <class Function>
    void execute(Function&& f) const {
        if (boost::asio::query(inner_, boost::asio::execution::blocking) ==
            boost::asio::execution::blocking.never) {
            inner_.execute(std::forward<Function>(f));
            return;
        }
        std::decay_t<Function> local(std::forward<Function>(f));
        local();
    }

    friend bool operator==(const inline_executor& a, const inline_executor& b) noexcept {
        return a.inner_ == b.inner_;
    }
    friend bool operator!=(const inline_executor& a, const inline_executor& b) noexcept {
        return !(a == b);
    }

private:
    Inner inner_;
};

inline boost::asio::any_io_executor make_inline_strand(boost::asio::io_context& io) {
    return boost::asio::strand<inline_executor<boost::asio::io_context::executor_type>>(
        inline_executor<boost::asio::io_context::executor_type>(io.get_executor()));
}

}  // namespace burrow
