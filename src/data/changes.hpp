// SPDX-License-Identifier: Apache-2.0
// Changes: what change sources (hooks, pollers, sendchange) report. add() stores a change with
// its files, properties and sourcestamp in one transaction, then announces changes/N/new
// (DESIGN.md §2: nothing is announced or acknowledged before it is committed).
#pragma once

#include "data/context.hpp"

#include <optional>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>

namespace kiln::data {

// A change as a source reports it (Buildbot's addChange arguments).
struct NewChange {
    std::string author;
    std::optional<std::string> committer;
    std::vector<std::string> files;
    std::string comments;
    std::optional<std::string> revision;
    std::optional<Epoch> when_timestamp;  // nullopt: now
    std::optional<std::string> branch;
    std::optional<std::string> category;
    std::optional<std::string> revlink;
    boost::json::object properties;  // stored with source "Change"
    std::string repository;
    std::string project;
    std::string codebase;
};

// Column sizes of the changes tables (data-model.md §2.8). add() cuts longer values at these
// (at a UTF-8 character boundary), as a database with VARCHAR limits would otherwise refuse
// the whole change.
inline constexpr std::size_t kMaxChangeAuthor = 255;
inline constexpr std::size_t kMaxChangeBranch = 255;
inline constexpr std::size_t kMaxChangeRevision = 255;
inline constexpr std::size_t kMaxChangeRevlink = 256;
inline constexpr std::size_t kMaxChangeCategory = 255;
inline constexpr std::size_t kMaxChangeRepository = 512;
inline constexpr std::size_t kMaxChangeProject = 512;
inline constexpr std::size_t kMaxChangeCodebase = 256;
inline constexpr std::size_t kMaxChangeFilename = 1024;
inline constexpr std::size_t kMaxChangePropertyName = 256;

class Changes {
public:
    explicit Changes(Context& context)
        : context_(context) {}

    // Stores the change: its sourcestamp (found or created), files and properties, and its
    // parent (the newest change with the same branch, repository, project and codebase), in
    // one transaction; then announces changes/N/new with the stored change.
    boost::asio::awaitable<Change> add(NewChange change);
    // A component's state to store with the changes (a poller's last seen revisions), so a
    // restart never reports the same changes twice.
    struct StateUpdate {
        Id objectid = 0;
        std::string name;
        boost::json::value value;
    };
    // Several changes (one push, one poll) in one transaction, in order, with the state when
    // given: all are stored or none.
    boost::asio::awaitable<std::vector<Change>> add_all(std::vector<NewChange> changes,
                                                        std::optional<StateUpdate> state);

    boost::asio::awaitable<std::optional<Change>> get(Id changeid);

private:
    Context& context_;
};

// Cuts text to at most max_bytes without splitting a UTF-8 character.
std::string truncate_utf8(std::string text, std::size_t max_bytes);

}  // namespace kiln::data
