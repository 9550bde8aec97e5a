// SPDX-License-Identifier: Apache-2.0
// The steps that move files between master and worker (k.file_upload, k.directory_upload,
// k.file_download, k.string_download), k.set_property and k.master_shell. Master-side paths
// are confined to the master directory unless the config allows otherwise.
#pragma once

#include "process/build_step.hpp"
#include "steps/step_args.hpp"

#include <filesystem>

namespace kiln::steps {

// Resolves a master-side path against the master directory; throws std::runtime_error when
// it leaves the directory and that is not allowed.
std::filesystem::path confine_master_path(const std::filesystem::path& master_dir,
                                          const std::string& path, bool allow_outside);

class TransferStep : public process::BuildStep {
public:
    enum class Kind { file_upload, directory_upload, file_download, string_download };
    TransferStep(process::StepOptions options, Kind kind, StepArgs::Map args);
    std::string description(const core::Properties& properties) const override;
    boost::asio::awaitable<process::StepOutcome> run(process::StepContext& context) override;

private:
    Kind kind_;
    StepArgs::Map args_;
};

class SetPropertyStep : public process::BuildStep {
public:
    SetPropertyStep(process::StepOptions options, StepArgs::Map args);
    std::string description(const core::Properties& properties) const override;
    boost::asio::awaitable<process::StepOutcome> run(process::StepContext& context) override;

private:
    StepArgs::Map args_;
};

class MasterShellStep : public process::BuildStep {
public:
    MasterShellStep(process::StepOptions options, StepArgs::Map args);
    std::string description(const core::Properties& properties) const override;
    boost::asio::awaitable<process::StepOutcome> run(process::StepContext& context) override;

private:
    StepArgs::Map args_;
};

}  // namespace kiln::steps
