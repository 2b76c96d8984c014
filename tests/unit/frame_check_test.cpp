#include "common/frame_check.hpp"

#include <gtest/gtest.h>

namespace burrow {
namespace {

TEST(frame_check, accepts_a_contiguous_stream_ending_in_fin) {
    inbound_stream in;
    EXPECT_EQ(in.accept(0, 100, false), "");
    EXPECT_EQ(in.accept(100, 50, false), "");
    EXPECT_EQ(in.accept(150, 0, false), "");  // an ack-only frame
    EXPECT_EQ(in.accept(150, 10, true), "");
    EXPECT_EQ(in.received(), 160u);
    EXPECT_TRUE(in.finished());
}

TEST(frame_check, rejects_gaps_and_overlaps) {
    inbound_stream in;
    ASSERT_EQ(in.accept(0, 100, false), "");
    EXPECT_NE(in.accept(101, 1, false).find("offset 101"), std::string::npos);
    EXPECT_NE(in.accept(99, 1, false).find("offset 99"), std::string::npos);
    EXPECT_EQ(in.received(), 100u);
}

TEST(frame_check, rejects_data_after_fin) {
    inbound_stream in;
    ASSERT_EQ(in.accept(0, 0, true), "");
    EXPECT_EQ(in.accept(0, 1, false), "data after fin");
}

TEST(frame_check, bounds_the_frame_size) {
    inbound_stream in;
    EXPECT_EQ(in.accept(0, max_frame_data, false), "");
    EXPECT_NE(in.accept(max_frame_data, max_frame_data + 1, false).find("exceeds"),
              std::string::npos);
}

}  // namespace
}  // namespace burrow
