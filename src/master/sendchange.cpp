// SPDX-License-Identifier: Apache-2.0
#include "master/sendchange.hpp"

#include "core/base64.hpp"
#include "io/http_client.hpp"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

namespace kiln::master {

namespace {

std::string form_encode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (char raw : text) {
        const auto c = static_cast<unsigned char>(raw);
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

core::Error bad(std::string message) {
    return core::Error{core::ErrorKind::bad_input, std::move(message)};
}

}  // namespace

core::Expected<std::string> sendchange_form(const SendChangeOptions& options) {
    std::string form;
    auto add = [&](std::string_view name, const std::string& value) {
        if (!form.empty()) form += '&';
        form += std::string(name) + "=" + form_encode(value);
    };
    auto comments = options.comments;
    if (options.logfile) {
        if (comments) return bad("--comments and --logfile cannot both be given");
        std::ostringstream text;
        if (*options.logfile == "-") {
            text << std::cin.rdbuf();
        } else {
            std::ifstream file(*options.logfile, std::ios::binary);
            if (!file) return bad("--logfile: cannot read " + *options.logfile);
            text << file.rdbuf();
        }
        comments = text.str();
    }
    const std::pair<std::string_view, const std::optional<std::string>*> fields[] = {
        {"author", &options.who},      {"repository", &options.repository},
        {"branch", &options.branch},   {"revision", &options.revision},
        {"comments", &comments},       {"category", &options.category},
        {"project", &options.project}, {"codebase", &options.codebase},
        {"revlink", &options.revlink}};
    for (const auto& [name, value] : fields)
        if (*value) add(name, **value);
    if (!options.files.empty()) {
        boost::json::array files(options.files.begin(), options.files.end());
        add("files", boost::json::serialize(files));
    }
    if (!options.properties.empty()) {
        boost::json::object properties;
        for (const auto& property : options.properties) {
            auto split = property.find('=');
            if (split == std::string::npos) split = property.find(':');
            if (split == std::string::npos || split == 0)
                return bad("--property '" + property + "': expected NAME=VALUE");
            properties[property.substr(0, split)] = property.substr(split + 1);
        }
        add("properties", boost::json::serialize(properties));
    }
    if (options.when) {
        std::ostringstream when;
        when.precision(17);
        when << *options.when;
        add("when_timestamp", when.str());
    }
    return form;
}

int send_change(const SendChangeOptions& options, std::ostream& out, std::ostream& err) {
    auto url = io::parse_http_url(options.master);
    if (!url) {
        err << "kiln sendchange: --master: " << url.error().message << "\n";
        return 2;
    }
    auto form = sendchange_form(options);
    if (!form) {
        err << "kiln sendchange: " << form.error().message << "\n";
        return 2;
    }
    io::HttpClientRequest request;
    request.method = "POST";
    request.host = url->host;
    request.port = url->port;
    auto path = url->path.substr(0, url->path.find('?'));
    if (path.back() != '/') path += '/';
    request.target = path + "change_hook/base";
    request.headers.push_back({"Content-Type", "application/x-www-form-urlencoded"});
    if (options.auth) {
        if (options.auth->find(':') == std::string::npos) {
            err << "kiln sendchange: --auth: expected USER:PASSWORD\n";
            return 2;
        }
        request.headers.push_back({"Authorization", "Basic " + core::base64_encode(*options.auth)});
    }
    request.body = std::move(*form);
    io::HttpClientResponse response;
    try {
        response = io::http_request_blocking(std::move(request));
    } catch (const boost::system::system_error& failure) {
        err << "kiln sendchange: " << failure.what() << "\n";
        return 1;
    }
    if (response.status != 200) {
        auto message = response.body;
        while (!message.empty() && (message.back() == '\n' || message.back() == '\r'))
            message.pop_back();
        err << "kiln sendchange: the master answered " << response.status << ": "
            << (message.empty() ? response.reason : message) << "\n";
        return 1;
    }
    out << "change sent: " << response.body << "\n";
    return 0;
}

}  // namespace kiln::master
