// A response header parsed by Beast without a fields container: the relay
// keeps the header's bytes as they came (parse_header), and the scanner
// remembers where each field is in them, so an unchanged header goes on as
// it is and a changed one is written from those places. Storing the fields
// was about a third of what a response cost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/container/small_vector.hpp>

#include "server/vhost/rules.hpp"

namespace burrow::vhost {

class response_scanner : public boost::beast::http::basic_parser<false> {
public:
    using header_set = std::vector<std::pair<std::string, std::string>>;

    // Where the next `put` reads from, and where that is in the kept bytes.
    void at(boost::asio::const_buffer input, std::size_t kept) {
        begin_ = static_cast<const char*>(input.data());
        end_ = begin_ + input.size();
        kept_ = kept;
    }
    int status() const { return status_; }
    const framing_fields& framing() const { return framing_; }
    // A folded (obsolete) field value is never passed on as it came.
    bool must_rewrite() const { return !unfolded_.empty(); }

    // `raw`, the kept header, with the fields named in `set` replaced by
    // those values, and Connection saying `keep_alive` when it did not.
    std::string rewrite(std::string_view raw, const header_set& set, bool keep_alive) const;

private:
    using error_code = boost::system::error_code;
    using string_view = boost::beast::string_view;
    struct place {
        boost::beast::http::field name;
        std::uint32_t at, name_size, size;  // in the kept bytes, from the name to the value's end
        int unfolded;                       // index into unfolded_, or -1
    };
    std::size_t offset(const char* p) const { return kept_ + static_cast<std::size_t>(p - begin_); }
    bool in_input(string_view s) const { return s.data() >= begin_ && s.data() + s.size() <= end_; }

    void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                         error_code& ec) override;
    void on_response_impl(int code, string_view reason, int version, error_code& ec) override;
    void on_field_impl(boost::beast::http::field name, string_view name_string, string_view value,
                       error_code& ec) override;
    void on_header_impl(error_code& ec) override { ec = {}; }
    void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code& ec) override {
        ec = {};
    }
    std::size_t on_body_impl(string_view body, error_code& ec) override {
        ec = {};
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, string_view, error_code& ec) override { ec = {}; }
    std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code& ec) override {
        ec = {};
        return body.size();
    }
    void on_finish_impl(error_code& ec) override { ec = {}; }

    const char* begin_ = nullptr;
    const char* end_ = nullptr;
    std::size_t kept_ = 0;
    int status_ = 0;
    int version_ = 11;
    std::size_t line_end_ = 0;
    boost::container::small_vector<place, 16> fields_;
    std::vector<std::string> unfolded_;
    framing_fields framing_;
    std::string te_, cl_;
};

}  // namespace burrow::vhost
