// The HTTP messages the vhost parses, and the sizes it bounds them by. The
// relays forward the bytes a parser consumed, so a parser only has to find
// where each message ends: bodies are parsed but never kept.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory_resource>
#include <tuple>
#include <utility>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>

namespace burrow::vhost {

inline constexpr std::uint32_t max_request_header = 32 * 1024;
inline constexpr std::uint32_t max_response_header = 64 * 1024;
// The longest chunk line (with extensions) or trailer section of a body.
inline constexpr std::size_t max_framing_line = max_request_header;
// What a read asks for while a header comes: most headers, and a small
// message whole, fit. (Beast's read_size() would ask for 512 bytes for ever
// from a buffer that is emptied after each piece: three writes for a 1 KiB
// response, and a 512-byte syscall per piece of a long body.) A body is
// read in relay_chunk pieces (relay_buffer.hpp); a buffer that grew for one is given back after
// the exchange, so an idle connection keeps header_read bytes each way.
inline constexpr std::size_t header_read = 4 * 1024;

// A body that is parsed but not kept: the relays forward the bytes the parser
// consumed (chunk framing and trailers included), so it only has to find
// where the message ends.
struct discard_body {
    struct value_type {};
    struct reader {
        template <bool is_request, class Fields>
        reader(boost::beast::http::header<is_request, Fields>&, value_type&) {}
        void init(const boost::optional<std::uint64_t>&, boost::system::error_code& ec) {
            ec = {};
        }
        template <class ConstBufferSequence>
        std::size_t put(const ConstBufferSequence& buffers, boost::system::error_code& ec) {
            ec = {};
            return boost::asio::buffer_size(buffers);
        }
        void finish(boost::system::error_code& ec) { ec = {}; }
    };
};

// A request's header fields come from a per-connection arena, released after
// each exchange: a node per field from malloc was a tenth of the server's
// time. The header limit bounds what one exchange can take from it.
using fields = boost::beast::http::basic_fields<std::pmr::polymorphic_allocator<char>>;
using request = boost::beast::http::request<discard_body, fields>;
using request_parser =
    boost::beast::http::request_parser<discard_body, std::pmr::polymorphic_allocator<char>>;

// A parser whose message's fields live in `arena`.
template <class Parser>
Parser make_parser(std::pmr::memory_resource& arena) {
    return Parser(std::piecewise_construct, std::make_tuple(),
                  std::make_tuple(std::pmr::polymorphic_allocator<char>(&arena)));
}

}  // namespace burrow::vhost
